"""Sets up the demo business the same way a real user would: through the CSV import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from .accounts import create_user
from .demo.generator import generate_demo_export
from .demo_groups import seed_hand_group, seed_rule_group
from .demo_reconnect import seed_reconnect
from .demo_reminders import seed_reminders, switch_on_reminders
from .demo_serial import seed_serial_messages
from .extensions import db
from .jobs import run_here
from .models import (
    Case,
    CaseKind,
    CaseStatus,
    Company,
    ConnectorConfig,
    Customer,
    OrderLine,
    User,
    utcnow,
)
from .newsletters.demo import seed_newsletter
from .sources.sync import run_sync

DEMO_USERS = (
    # email, name, role, password, company restriction (index into companies)
    ("admin@demo.example", "Anna Admin", "admin", "demo-admin-2026", None),
    ("sales@demo.example", "Sven Sales", "sales", "demo-sales-2026", None),
    ("sales2@demo.example", "Petra Profi", "sales", "demo-sales-2026", 1),
)
TEMPLATE_BASE = 6100000


def _companies(names: list[str]) -> list[Company]:
    companies = []
    for index, name in enumerate(names):
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20]
        company = db.session.scalar(select(Company).where(Company.name == name))
        if company is None:
            company = Company(name=name)
            db.session.add(company)
        company.sender_email = f"service@{slug}.example"
        company.sender_name = name
        company.standard_template_id = TEMPLATE_BASE + index * 10 + 1
        # The last company has no voucher template, so the drop-down shows the difference.
        company.voucher_template_id = (
            TEMPLATE_BASE + index * 10 + 2 if index < len(names) - 1 else None
        )
        company.offer_email = f"angebote@{slug}.example"
        company.sms_sender = name.split()[0][:11]
        company.shop_url = f"https://shop.{slug}.example/"
        companies.append(company)
    db.session.commit()
    return companies


def load_demo(seed: int = 42, customers: int = 2400, echo: Callable[[str], None] = print) -> str:
    folder = Path(current_app.instance_path) / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "wawi-export.csv"
    today = utcnow().date()
    echo(f"Generating the demo WaWi export ({customers} customers, seed {seed}) …")
    stats = generate_demo_export(path, as_of=today, seed=seed, customers=customers)
    companies = _companies(list(stats.company_names))
    cfg = db.session.scalar(select(ConnectorConfig).where(ConnectorConfig.name == "wawi-export"))
    if cfg is None:
        cfg = ConnectorConfig(name="wawi-export", kind="csv")
        db.session.add(cfg)
    cfg.settings = {"path": str(path)}
    cfg.customer_url = "https://wawi.demo.example/kunden/{number}"
    cfg.order_url = "https://wawi.demo.example/auftraege/{number}"
    cfg.product_url = "https://wawi.demo.example/artikel/{sku}"
    db.session.commit()
    echo(f"Importing {path.name} through the CSV connector …")
    run_sync(cfg, full=True)
    for email, name, role, password, company in DEMO_USERS:
        if db.session.scalar(select(User).where(User.email == email)) is None:
            create_user(
                email,
                name,
                password,
                role,
                company_id=companies[company].id if company is not None else None,
            )
    reminder_groups = switch_on_reminders(utcnow())
    admin = db.session.scalar(select(User).where(User.email == DEMO_USERS[0][0]))
    seed_rule_group(admin)
    echo("Analysing …")
    job = run_here("analyze", echo=lambda step: echo(f"  … {step}"))
    if job.state != "done":
        raise RuntimeError(f"the demo's analysis failed: {job.error}")
    seed_hand_group(admin)
    echo("ReConnect: switching it on and writing three months of history …")
    reconnect = seed_reconnect(utcnow(), seed)
    echo("Newsletter: a group with subscribers who confirmed, wait or unsubscribed …")
    subscribers = seed_newsletter(utcnow(), seed)
    echo("Reorder reminders: switching them on and writing three months of history …")
    reminders = seed_reminders(utcnow())
    echo("Serial messages: one sent to the newsletter three days ago, one draft …")
    serials = seed_serial_messages(utcnow(), seed)
    lines = db.session.scalar(select(func.count(OrderLine.id)))
    people = db.session.scalar(select(func.count(Customer.id)))
    open_cases = db.session.scalar(
        select(func.count(Case.id)).where(
            Case.kind == CaseKind.DECLINE, Case.status == CaseStatus.NEW
        )
    )
    logins = "\n".join(
        f"  {role:5}  {email}  /  {password}" + (" (one company only)" if c is not None else "")
        for email, _n, role, password, c in DEMO_USERS
    )
    return (
        f"Demo ready: {people} customers, {lines} order lines, {len(companies)} companies, "
        f"{open_cases} customers with revenue decline ({job.result['opened']} cases opened).\n"
        f"Customer groups: {job.result['groups']['added']} customers by rule, "
        f"hand-picked ones in the second group.\n"
        f"ReConnect on for {reconnect.get('groups', 0)} product groups: "
        f"{reconnect.get('contacts', 0)} customers contacted in the last 3 months, "
        f"{reconnect.get('reconnected', 0)} reconnected.\n"
        f"Newsletter: {subscribers.get('confirmed', 0)} confirmed, "
        f"{subscribers.get('pending', 0)} waiting for confirmation, "
        f"{subscribers.get('unsubscribed', 0)} unsubscribed.\n"
        f"Reorder reminders on for {len(reminder_groups)} product groups: "
        f"{reminders.get('sent', 0)} sent in the last 3 months, "
        f"{reminders.get('reordered', 0)} reordered.\n"
        f"Serial message to the newsletter: {serials.get('sent', 0)} sent, "
        f"{serials.get('opened', 0)} opened, {serials.get('clicked', 0)} clicked; "
        f"one draft.\n"
        f"Log in at http://127.0.0.1:5000 with\n{logins}"
    )
