"""domain.audits.made: the fact classes the bill audits build by the hundred thousand, made
without the frozen __init__, are the very objects the constructor makes (equal, same hash,
still frozen), and the rules judge them alike."""

from dataclasses import FrozenInstanceError, asdict
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain.audits import AccountFacts, BillFacts, LoadFacts, audit_bill, made

money = st.decimals(min_value=0, max_value=10**6, places=2)
maybe = st.none() | money
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 1, 1))


@st.composite
def bills(draw, key=None):
    start = draw(days)
    return BillFacts(
        key=key if key is not None else draw(st.integers(1, 10**6)),
        bill_no=draw(st.text("AB12", min_size=1, max_size=4)), period_start=start,
        period_end=start + timedelta(days=draw(st.integers(0, 400))), amount=draw(money),
        kwh=draw(maybe), unit_price=draw(st.none() | st.decimals(0, 3, places=4)),
        start_reading=draw(maybe), end_reading=draw(maybe),
        multiplier=draw(st.none() | st.decimals(1, 100, places=2)), loss_kwh=draw(maybe),
        invoice_type=draw(st.sampled_from(("", "RECEIPT", "SPECIAL_13", "GENERAL"))),
        meter_changed=draw(st.booleans()), old_meter_end_reading=draw(maybe),
        new_meter_start_reading=draw(maybe))


loads = st.builds(LoadFacts, rated_power_wd=maybe, dc_current_ad=maybe, smart_kwh=maybe,
                  smart_days=st.integers(0, 400), no_tenant_days=st.integers(0, 400),
                  new_tenancy_in_period=st.booleans())
accounts = st.builds(AccountFacts, account_no=st.just("A-1"),
                     supply_mode=st.sampled_from(("DIRECT", "RESUPPLY")),
                     payment_cycle_months=st.integers(1, 12), contract_price=maybe,
                     price_cap=maybe, multiplier=st.decimals(1, 100, places=2),
                     lump_sum=st.booleans(), whitelisted=st.frozensets(st.sampled_from(
                         ("GAP", "MOM", "INVOICE"))))


def _remade(obj):
    return made(type(obj), dict(asdict(obj)))


@given(bills(), loads, accounts)
def test_made_facts_are_the_constructors(bill, load, account):
    for obj in (bill, load, account):
        copy = _remade(obj)
        assert copy == obj and hash(copy) == hash(obj) and type(copy) is type(obj)
        with pytest.raises(FrozenInstanceError):
            copy.key = 1


@given(bills(key=100), st.lists(bills(), max_size=5), loads, accounts)
def test_rules_judge_made_facts_alike(bill, history, load, account):
    assert audit_bill(_remade(bill), _remade(account), [_remade(h) for h in history],
                      _remade(load)) == audit_bill(bill, account, history, load)


def test_made_needs_every_field():
    with pytest.raises(AssertionError):
        made(LoadFacts, {"smart_days": 1})
