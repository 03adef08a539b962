"""Building KPI test months through the product's own imports and services — never by
writing line, application or receipt rows — on a calendar the test chooses: each service
is told its ``today`` / ``at``, as the demo replays history."""

from datetime import date, datetime, time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.helpers import ACCOUNTS_HEADER, RULES_HEADER, SITES_HEADER, TENANCIES_HEADER, write_csv
from towerledger.access.models import Profile, Role
from towerledger.exchange.services import run_import
from towerledger.org.models import Operator

BILL_HEADER = ["bill_no", "account_no", "period_start", "period_end", "start_reading",
               "end_reading", "multiplier", "loss_kwh", "kwh", "unit_price", "amount",
               "input_tax", "invoice_type", "paid_date", "payment_ref"]
RECEIPT_HEADER = ["receipt_no", "operator", "city", "amount", "received_date", "reference"]


def import_master(folder: Path, sites, tenancies, rules, accounts):
    """Sites, tenancies, allocation rules and supply accounts, through the imports."""
    for kind, header, rows in (("sites", SITES_HEADER, sites),
                               ("tenancies", TENANCIES_HEADER, tenancies),
                               ("rules", RULES_HEADER, rules),
                               ("accounts", ACCOUNTS_HEADER, accounts)):
        result = run_import(kind, write_csv(folder / f"{kind}.csv", header, rows),
                            create_org=kind == "sites")
        assert result.stored, [e.text() for e in result.errors]


def import_file(folder: Path, kind: str, header, rows, name: str):
    result = run_import(kind, write_csv(folder / name, header, rows))
    assert result.stored, [e.text() for e in result.errors]
    return result


def make_user(username: str, role: str, operator: str | None = None):
    user = get_user_model().objects.create_user(username, password="pw-Secret-123")
    Profile.objects.create(user=user, role=role, operator=Operator.objects.get(
        code=operator) if operator else None)
    return user


def staff_and_operators(codes=("CMCC", "CUCC", "CTCC")) -> dict:
    """A province admin ("admin") and one operator user per code."""
    users = {"admin": make_user("kpi-admin", Role.PROVINCE_ADMIN)}
    for code in codes:
        users[code] = make_user(f"kpi-{code.lower()}", Role.OPERATOR, operator=code)
    return users


def at(day: date, hour: int) -> datetime:
    """``day`` at ``hour`` local time: when a replayed answer or confirmation happened."""
    return timezone.make_aware(datetime.combine(day, time(hour)))
