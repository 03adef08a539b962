"""API fixtures: a token per user of the shared ``users`` fixture, and bills on two accounts."""

from datetime import date
from decimal import Decimal

import pytest

from towerledger.api.tokens import create_token
from towerledger.bills.models import Bill, Flag
from towerledger.sites.models import SupplyAccount


@pytest.fixture
def tokens(users):
    """username → raw bearer token."""
    return {name: create_token(user, f"{name} system")[1] for name, user in users.items()}


@pytest.fixture
def bills(province):
    """A flagged bill on A-100 (郑州 ZZ001) and one on A-300 (洛阳 LY001)."""
    zz = Bill.objects.create(
        account=SupplyAccount.objects.get(account_no="A-100"), bill_no="B-ZZ-2405",
        period_start=date(2024, 5, 1), period_end=date(2024, 5, 31), kwh=Decimal("4320"),
        unit_price=Decimal("1.10"), amount=Decimal("4752.00"), invoice_type="GENERAL",
        warnings=1)
    Flag.objects.create(bill=zz, code="YOY", severity="WARN", message_zh="同比用电增长 40%",
                        message_en="use per day up 40 % year on year", figures={"ratio": "1.40"})
    ly = Bill.objects.create(
        account=SupplyAccount.objects.get(account_no="A-300"), bill_no="B-LY-2405",
        period_start=date(2024, 3, 1), period_end=date(2024, 5, 31), amount=Decimal("3300.00"),
        blocking=1)
    return {"zz": zz, "ly": ly}


def call(client, url, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(url, params, headers=headers)
