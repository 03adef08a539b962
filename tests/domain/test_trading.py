"""Market trading pure rules: terms, the TRADING_DISCOUNT check and a bill's realised
saving (hand-computed, to the fen)."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain import trading as t
from towerledger.domain.audits import _RULES, BLOCK, WARN
from towerledger.domain.errors import DomainError

D = Decimal
DISCOUNT = t.Terms(D("0.62"), discount=D("0.05"))
TRADED = t.Terms(D("0.62"), traded_price=D("0.35"))


def test_terms_price_and_gap():
    assert DISCOUNT.price == D("0.57") and DISCOUNT.gap == D("0.05")
    assert TRADED.price == D("0.35") and TRADED.gap == D("0.27")
    for bad in (dict(), dict(discount=D("0.1"), traded_price=D("0.5")),
                dict(discount=D("0.7")), dict(traded_price=D(0))):
        with pytest.raises(DomainError):
            t.Terms(D("0.62"), **bad)


def test_check_bill_finds_a_missing_discount_beyond_the_tolerance():
    f = t.check_bill(D("0.62"), DISCOUNT, "TC-2024")
    assert f.code == "TRADING_DISCOUNT" and f.severity == WARN
    assert f.figures["traded_price"] == "0.57" and f.figures["over_per_kwh"] == "0.05"
    assert "TC-2024" in f.message_zh and "discount" in f.message_en
    assert t.check_bill(D("0.57"), DISCOUNT, "TC") is None
    assert t.check_bill(D("0.575"), DISCOUNT, "TC") is None              # within 0.005
    assert t.check_bill(D("0.5751"), DISCOUNT, "TC") is not None
    assert t.check_bill(None, DISCOUNT, "TC") is None
    assert t.check_bill(D("0.40"), TRADED, "TC", D("0.01"), BLOCK).severity == BLOCK
    assert "TRADING_DISCOUNT" in _RULES and _RULES["TRADING_DISCOUNT"][2] == WARN


def test_saving_worked_example():
    """docs/programs/trading.md: 3,000 kWh with 0.05 off the 0.62 catalogue = 150.00."""
    assert t.bill_saving(D(3000), DISCOUNT) == D("150.00")
    assert t.bill_saving(D(3000), DISCOUNT, D("0.57")) == D("150.00")
    assert t.bill_saving(D(3000), DISCOUNT, D("0.62")) == D("0.00")      # not realised
    assert t.bill_saving(D(3000), DISCOUNT, D("0.60")) == D("60.00")     # partly
    assert t.bill_saving(D(3000), DISCOUNT, D("0.50")) == D("150.00")    # never above the gap
    assert t.bill_saving(D("1234.56"), TRADED) == D("333.33")            # 333.3312
    assert t.unit_price_of(None, D("1710.00"), D(3000)) == D("0.57")


@given(st.decimals(min_value=0, max_value=10**6, places=2),
       st.decimals(min_value=D("0.01"), max_value=D("3"), places=4))
def test_saving_is_between_zero_and_the_contract_gap(kwh, price):
    s = t.bill_saving(kwh, DISCOUNT, price)
    assert D(0) <= s <= t.bill_saving(kwh, DISCOUNT)


def test_in_period():
    from datetime import date
    assert t.in_period(date(2023, 12, 1), date(2024, 1, 1), date(2024, 1, 1), date(2024, 12, 31))
    assert not t.in_period(date(2023, 12, 1), date(2023, 12, 31), date(2024, 1, 1),
                           date(2024, 12, 31))
