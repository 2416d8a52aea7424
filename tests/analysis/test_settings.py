import json

import pytest

from recovery.analysis import AnalysisSettings, SettingsError

REQUIRED = (
    "window_months",
    "comparison",
    "min_decline_pct",
    "min_reference_revenue",
    "min_reference_orders",
    "amount_basis",
    "overdue_tolerance",
    "min_orders_for_rhythm",
    "group_default_intervals",
    "max_overdue_days",
    "horizon_days",
    "include_customer_groups",
    "exclude_customer_groups",
    "include_companies",
    "exclude_companies",
    "exclude_open_orders",
    "no_interest_days",
    "locale",
)


def test_defaults_are_the_documented_ones():
    s = AnalysisSettings()
    assert (s.window_months, s.comparison, s.min_decline_pct) == (12, "previous_period", 30.0)
    assert (s.min_reference_revenue, s.min_reference_orders, s.amount_basis) == (500.0, 2, "net")
    assert (s.overdue_tolerance, s.min_orders_for_rhythm, s.max_overdue_days) == (1.5, 2, 730)
    assert s.group_default_intervals == {}
    assert (s.horizon_days, s.no_interest_days, s.locale, s.exclude_open_orders) == (
        180,
        180,
        "de",
        True,
    )
    assert s.include_customer_groups == s.exclude_companies == ()


def test_round_trip_through_json():
    s = AnalysisSettings(
        comparison="same_period_last_year",
        group_default_intervals={"Kaffee": 30},
        exclude_companies=("Shop B",),
    )
    stored = json.loads(json.dumps(s.to_dict()))
    assert stored["exclude_companies"] == ["Shop B"]
    assert AnalysisSettings.from_dict(stored) == s
    assert AnalysisSettings.from_dict({}) == AnalysisSettings()


def test_form_strings_are_accepted():
    s = AnalysisSettings.from_dict(
        {
            "overdue_tolerance": "1,75",
            "min_reference_revenue": "1.500,50",
            "window_months": "6",
            "exclude_open_orders": "off",
            "include_customer_groups": "Händler, Großkunde",
            "group_default_intervals": "Kaffee=30; Tee: 45",
        }
    )
    assert s.overdue_tolerance == 1.75
    assert s.min_reference_revenue == 1500.5
    assert s.window_months == 6
    assert s.exclude_open_orders is False
    assert s.include_customer_groups == ("Händler", "Großkunde")
    assert s.group_default_intervals == {"Kaffee": 30, "Tee": 45}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"window_months": 0}, "window_months"),
        ({"window_months": 2.5}, "window_months"),
        ({"comparison": "last_week"}, "comparison"),
        ({"amount_basis": "brutto"}, "amount_basis"),
        ({"min_decline_pct": 120}, "min_decline_pct"),
        ({"overdue_tolerance": "abc"}, "overdue_tolerance"),
        ({"overdue_tolerance": 0.5}, "overdue_tolerance"),
        ({"group_default_intervals": {"Kaffee": 0}}, "group_default_intervals"),
        ({"exclude_companies": 3}, "exclude_companies"),
        ({"exclude_open_orders": "maybe"}, "exclude_open_orders"),
        ({"locale": "fr"}, "locale"),
        ({"currency": "euro"}, "currency"),
        ({"horizon_days": True}, "horizon_days"),
    ],
)
def test_validation_names_the_field(values, field):
    with pytest.raises(SettingsError) as err:
        AnalysisSettings.from_dict(values)
    assert err.value.field == field
    assert field in str(err.value)
    assert isinstance(err.value, ValueError)


def test_direct_construction_is_validated_too():
    with pytest.raises(SettingsError, match="min_reference_orders"):
        AnalysisSettings(min_reference_orders=0)


def test_all_errors_are_reported_together_and_unknown_keys_only_when_strict():
    with pytest.raises(SettingsError) as err:
        AnalysisSettings.from_dict({"window_months": 0, "locale": "xx"})
    assert set(err.value.errors) == {"window_months", "locale"}
    assert AnalysisSettings.from_dict({"csrf_token": "x"}) == AnalysisSettings()
    with pytest.raises(SettingsError, match="csrf_token: unknown setting"):
        AnalysisSettings.from_dict({"csrf_token": "x"}, strict=True)


def test_every_field_has_bilingual_help_and_matching_default():
    infos = AnalysisSettings.fields()
    names = [i.name for i in infos]
    for required in REQUIRED:
        assert required in names
    defaults = AnalysisSettings().to_dict()
    for info in infos:
        assert info.label_de and info.label_en and info.help_de and info.help_en, info.name
        assert info.label("en") == info.label_en and info.help("de") == info.help_de
        assert info.default == defaults[info.name]
        if info.type == "choice":
            assert info.default in info.choices
        if info.min is not None and info.type in ("int", "float"):
            assert info.min <= info.default <= info.max


def test_settings_are_hashable_and_frozen():
    s = AnalysisSettings(group_default_intervals={"Kaffee": 30})
    assert hash(s) == hash(AnalysisSettings(group_default_intervals={"Kaffee": 30}))
    with pytest.raises(AttributeError):
        s.window_months = 3
