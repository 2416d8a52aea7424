"""German and English labels and hover help texts of the analysis settings (A7).

Per setting: (label_de, label_en, help_de, help_en).
"""

TEXTS: dict[str, tuple[str, str, str, str]] = {
    "window_months": (
        "Betrachtungszeitraum (Monate)",
        "Window (months)",
        (
            "Umsatz der letzten N Monate bis zum Stichtag wird mit dem Vergleichszeitraum "
            "verglichen."
        ),
        (
            "Revenue of the last N months up to the analysis date is compared with the "
            "comparison window."
        ),
    ),
    "comparison": (
        "Vergleichszeitraum",
        "Compare with",
        (
            "Womit der Umsatz verglichen wird: mit den Monaten direkt davor oder mit demselben "
            "Zeitraum ein Jahr früher (besser für saisonale Geschäfte)."
        ),
        (
            "What revenue is compared with: the months just before, or the same period one "
            "year earlier (better for seasonal businesses)."
        ),
    ),
    "min_decline_pct": (
        "Mindestrückgang (%)",
        "Minimum decline (%)",
        "Ein Kunde wird markiert, wenn sein Umsatz um mindestens so viel Prozent gefallen ist.",
        "A customer is flagged when revenue fell by at least this percentage.",
    ),
    "min_reference_revenue": (
        "Mindestumsatz im Vergleichszeitraum",
        "Minimum reference revenue",
        (
            "Kleinkunden unter diesem Umsatz (in Währung) im Vergleichszeitraum werden nicht "
            "markiert."
        ),
        "Customers below this revenue (in currency) in the comparison window are not flagged.",
    ),
    "min_reference_orders": (
        "Mindestanzahl Bestellungen im Vergleichszeitraum",
        "Minimum orders in the comparison window",
        (
            "Nur Kunden mit mindestens so vielen Bestellungen im Vergleichszeitraum werden "
            "betrachtet."
        ),
        "Only customers with at least this many orders in the comparison window are considered.",
    ),
    "amount_basis": (
        "Umsatzbasis",
        "Amount basis",
        "Netto oder brutto; fehlt der Bruttobetrag einer Position, zählt der Nettobetrag.",
        "Net or gross; where a line has no gross amount its net amount counts.",
    ),
    "overdue_tolerance": (
        "Toleranzfaktor",
        "Tolerance factor",
        (
            "Überfällig, wenn die Tage seit der letzten Bestellung das typische Intervall mal"
            " diesen Faktor überschreiten (1,5 = 50 % später als üblich)."
        ),
        (
            "Overdue when the days since the last order exceed the typical interval times "
            "this factor (1.5 = 50% later than usual)."
        ),
    ),
    "min_orders_for_rhythm": (
        "Mindestanzahl Bestelltage",
        "Minimum order days",
        (
            "Erst ab so vielen Bestelltagen wird ein Kunde als überfällig markiert (2 = ein "
            "eigenes Intervall). Mit 1 werden auch Einmalkäufer am Warengruppen-Intervall "
            "gemessen."
        ),
        (
            "A customer can be flagged overdue only from this many order days on (2 = one own"
            " interval). With 1, one-time buyers are measured against the product group's "
            "interval."
        ),
    ),
    "group_default_intervals": (
        "Standardintervall je Warengruppe (Tage)",
        "Default interval per product group (days)",
        (
            "Ersetzt das aus den Daten geschätzte typische Intervall einer Warengruppe, zu "
            "dem die Intervalle von Kunden mit wenigen Bestellungen hingezogen werden."
        ),
        (
            "Replaces the product group's typical interval estimated from the data, towards "
            "which the intervals of customers with few orders are pulled."
        ),
    ),
    "max_overdue_days": (
        "Verloren nach (Tagen)",
        "Lost after (days)",
        (
            "Kunden, deren letzte Bestellung länger zurückliegt, gelten als verloren und "
            "werden nicht mehr als überfällig markiert (ein Umsatzrückgang kann sie weiter "
            "markieren)."
        ),
        (
            "Customers whose last order is older than this count as lost and are no longer "
            "flagged as overdue (a revenue decline can still flag them)."
        ),
    ),
    "season_max_months": (
        "Saison: höchstens (Monate)",
        "Season: at most (months)",
        (
            "Kunden und Warengruppen, deren Bestellungen sich in einer Saison von höchstens"
            " so vielen aufeinanderfolgenden Monaten ballen, werden an ihrer Saison gemessen:"
            " außerhalb der Saison nie überfällig, markiert, wenn eine Saison ohne Bestellung"
            " vergeht; ihr Umsatz wird mit dem gleichen Zeitraum des Vorjahres verglichen."
            " 0 = keine Saisonerkennung."
        ),
        (
            "Customers and product groups whose orders cluster in a season of at most this"
            " many consecutive months are judged against their season: never overdue out of"
            " season, flagged when a season passes without an order; their revenue is"
            " compared with the same period last year. 0 = no season detection."
        ),
    ),
    "season_min_share": (
        "Saison: Anteil der Bestelltage (%)",
        "Season: share of order days (%)",
        "So viel Prozent der Bestelltage müssen in die Saison fallen.",
        "At least this percentage of the order days must fall into the season.",
    ),
    "season_min_years": (
        "Saison: in mindestens (Jahren)",
        "Season: in at least (years)",
        (
            "In so vielen verschiedenen Jahren muss in der Saison bestellt worden sein, bevor"
            " ein Kunde oder eine Warengruppe als saisonal gilt."
        ),
        (
            "Orders inside the season in at least this many different years before a customer"
            " or product group counts as seasonal."
        ),
    ),
    "season_min_order_days": (
        "Saison: Mindestanzahl Bestelltage",
        "Season: minimum order days",
        (
            "Erst ab so vielen Bestelltagen kann ein Kunde oder eine Warengruppe als saisonal"
            " gelten: zwei zufällige Bestellungen liegen oft zufällig in denselben Monaten."
        ),
        (
            "A customer or product group can count as seasonal only from this many order"
            " days on: two random orders often fall into the same months by chance."
        ),
    ),
    "horizon_days": (
        "Prognosezeitraum (Tage)",
        "Forecast horizon (days)",
        (
            "Abwanderungswahrscheinlichkeit = Wahrscheinlichkeit, dass in so vielen Tagen "
            "keine Bestellung kommt; gefährdeter Umsatz bezieht sich auf diesen Zeitraum."
        ),
        (
            "Churn probability = probability of no order within this many days; revenue at "
            "risk refers to this period."
        ),
    ),
    "include_customer_groups": (
        "Nur Kundengruppen",
        "Only customer groups",
        "Leer = alle. Sonst werden nur Kunden dieser Kundengruppen betrachtet.",
        "Empty = all. Otherwise only customers of these customer groups are considered.",
    ),
    "exclude_customer_groups": (
        "Kundengruppen ausschließen",
        "Exclude customer groups",
        "Kunden dieser Kundengruppen werden nie markiert.",
        "Customers of these customer groups are never flagged.",
    ),
    "include_companies": (
        "Nur Firmen",
        "Only companies",
        "Leer = alle. Sonst nur Kunden, deren letzte Bestellung bei einer dieser Firmen war.",
        "Empty = all. Otherwise only customers whose last order was at one of these companies.",
    ),
    "exclude_companies": (
        "Firmen ausschließen",
        "Exclude companies",
        "Kunden, deren letzte Bestellung bei einer dieser Firmen war, werden nicht markiert.",
        "Customers whose last order was at one of these companies are not flagged.",
    ),
    "exclude_open_orders": (
        "Kunden mit offenem Auftrag ausschließen",
        "Exclude customers with an open order",
        "Ein offener Auftrag (z. B. Vorbestellung) zeigt, dass der Kunde noch aktiv ist.",
        "An open order (e.g. a future booking) shows the customer is still active.",
    ),
    "no_interest_days": (
        "Pause nach 'Kein Interesse' (Tage)",
        "Pause after 'no interest' (days)",
        "So lange bleibt ein Kunde nach 'Kein Interesse' außen vor; danach kann er wieder "
        "markiert werden.",
        "How long a customer stays out after 'no interest'; after that they can be flagged again.",
    ),
    "locale": (
        "Sprache der Begründungen",
        "Language of reasons",
        "Sprache, in der die Begründungen erzeugt werden.",
        "Language in which the reasons are written.",
    ),
    "currency": (
        "Währung",
        "Currency",
        "ISO-Code der Währung für Beträge in den Begründungen.",
        "ISO code of the currency used for amounts in the reasons.",
    ),
}
