"""Each audit rule fires on its anomaly with the figures, and never on a clean bill."""

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain.audits import (
    DEFAULT_RULES,
    RULE_LABELS,
    AccountFacts,
    BillFacts,
    ConfigError,
    LoadFacts,
    audit_bill,
    configure,
)

D = Decimal
ACCOUNT = AccountFacts("A-1", "RESUPPLY", 1, contract_price=D("1.10"), price_cap=D("1.50"))
# 3 tenancies, 80 A in all at 53.5 V × 24 h × PUE 1.6 → 164.35 kWh/day; rated 6.1 kW → 146.4
DAILY_KWH = D("140")


def month_bill(n: int, key=None, kwh=None, **kw) -> BillFacts:
    """The n-th monthly bill from May 2024, consistent in every figure."""
    start = date(2024, 5, 1) + timedelta(days=31 * n)
    end = start + timedelta(days=30)
    kwh = DAILY_KWH * 31 + 40 * n if kwh is None else kwh
    fields = dict(key=key or n, bill_no=f"B{n}", period_start=start, period_end=end,
                  kwh=kwh, unit_price=D("1.10"), amount=(kwh * D("1.10")).quantize(D("0.01")),
                  start_reading=D(10000), end_reading=D(10000) + kwh, invoice_type="GENERAL")
    return BillFacts(**(fields | kw))


def load_for(bill: BillFacts, **kw) -> LoadFacts:
    days = bill.days
    return LoadFacts(**({"rated_power_wd": D(6100) * days, "dc_current_ad": D(80) * days,
                         "smart_kwh": bill.kwh, "smart_days": days} | kw))


def codes(bill, history=(), account=ACCOUNT, load=None, rules=DEFAULT_RULES):
    return {f.code for f in audit_bill(bill, account, list(history), load or load_for(bill),
                                       rules)}


def findings(bill, history=(), account=ACCOUNT, load=None):
    return {f.code: f for f in audit_bill(bill, account, list(history),
                                          load or load_for(bill))}


HISTORY = [month_bill(i) for i in range(3)]
THIS = month_bill(3)


def test_a_clean_bill_raises_nothing():
    assert codes(THIS, HISTORY) == set()


def test_duplicates_and_overlaps_block():
    resent = replace(THIS, key=99, amount=THIS.amount + 10)
    assert {"DUP_BILL_NO", "OVERLAP"} <= codes(resent, [*HISTORY, THIS])
    copy = replace(THIS, key=98, bill_no="B3-R")
    assert "DUP_CONTENT" in codes(copy, [*HISTORY, THIS])
    f = findings(copy, [*HISTORY, THIS])["DUP_CONTENT"]
    assert f.severity == "BLOCK" and f.figures["other_bill_no"] == "B3"
    shifted = replace(THIS, period_start=THIS.period_start - timedelta(days=5))
    assert "OVERLAP" in codes(shifted, HISTORY)


def test_gap_and_period_length():
    late = replace(THIS, period_start=THIS.period_start + timedelta(days=3))
    f = findings(late, HISTORY)
    assert f["GAP"].figures["gap_days"] == 3 and f["GAP"].severity == "WARN"
    long = replace(THIS, period_end=THIS.period_start + timedelta(days=59))
    assert "PERIOD_LENGTH" in codes(long, HISTORY, load=load_for(long))


def test_readings_rollback_and_amount():
    wrong = replace(THIS, end_reading=THIS.end_reading + 200)
    f = findings(wrong, HISTORY)["READING_MISMATCH"]
    assert f.severity == "BLOCK" and D(f.figures["benchmark"]) == THIS.kwh + 200
    back = replace(THIS, start_reading=D(20000), end_reading=D(19000))
    assert "METER_ROLLBACK" in codes(back, HISTORY)
    assert "METER_ROLLBACK" not in codes(replace(back, meter_changed=True), HISTORY)
    dear = replace(THIS, amount=THIS.amount + 100)
    assert "AMOUNT_MISMATCH" in codes(dear, HISTORY)
    assert "AMOUNT_MISMATCH" not in codes(replace(THIS, amount=THIS.amount + D("0.9")), HISTORY)


def test_prices_against_contract_and_cap():
    f = findings(replace(THIS, unit_price=D("1.20"), amount=(THIS.kwh * D("1.2"))
                         .quantize(D("0.01"))), HISTORY)
    assert set(f) == {"PRICE_CONTRACT"} and f["PRICE_CONTRACT"].figures["deviation_pct"] == "9.1"
    cap = findings(replace(THIS, unit_price=D("1.80"), amount=(THIS.kwh * D("1.8"))
                           .quantize(D("0.01"))), HISTORY)["PRICE_CAP"]
    assert cap.severity == "BLOCK" and cap.figures["actual"] == "1.8000"


def test_benchmarks_fire_on_theft_like_use():
    theft = month_bill(3, kwh=DAILY_KWH * 31 * 2)
    f = findings(theft, HISTORY, load=load_for(THIS))
    assert {"BENCH_RATED", "BENCH_DC", "BENCH_SMART", "MOM"} <= set(f)
    dc = f["BENCH_DC"]
    assert D(dc.figures["benchmark"]) == D("5094.91")  # 80 A × 31 d × 53.5 V × 24 h × 1.6
    assert "无新增租户" in dc.message_zh
    partial = load_for(THIS, smart_days=20)
    assert "BENCH_SMART" not in codes(theft, HISTORY, load=partial)


def test_year_on_year_and_estimated():
    last_year = replace(month_bill(0), key="ly", bill_no="LY",
                        period_start=date(2023, 8, 1), period_end=date(2023, 8, 31),
                        kwh=D(2000))
    summer = month_bill(3)  # 2024-08-03..
    assert "YOY" in codes(summer, [*HISTORY, last_year])
    same = [month_bill(i, kwh=D(4000)) for i in range(3)]
    assert "ESTIMATED" in codes(month_bill(3, kwh=D(4000)), same)
    assert "ESTIMATED" not in codes(month_bill(3, kwh=D(4000)), same[2:])


def test_no_tenant_and_invoice_and_whitelist():
    assert "NO_TENANT" in codes(THIS, HISTORY, load=load_for(THIS, no_tenant_days=4))
    receipt = replace(THIS, invoice_type="RECEIPT")
    assert "INVOICE" in codes(receipt, HISTORY)
    white = replace(ACCOUNT, whitelisted=frozenset({"INVOICE"}))
    assert "INVOICE" not in codes(receipt, HISTORY, account=white)
    direct = replace(ACCOUNT, supply_mode="DIRECT")
    assert "INVOICE" not in codes(receipt, HISTORY, account=direct)


def test_lump_sum_accounts_skip_kwh_rules():
    lump = replace(ACCOUNT, lump_sum=True)
    bill = replace(THIS, kwh=None, unit_price=None, start_reading=None, end_reading=None)
    assert codes(bill, HISTORY, account=lump, load=LoadFacts()) == set()


def test_configuration_changes_severity_thresholds_and_switches_rules_off():
    rules = configure([("PRICE_CONTRACT", None, "BLOCK", {"over_pct": "20"}),
                       ("INVOICE", False, None, None)])
    pricey = replace(THIS, unit_price=D("1.20"), amount=(THIS.kwh * D("1.2")).quantize(D("0.01")),
                     invoice_type="RECEIPT")
    assert codes(pricey, HISTORY, rules=rules) == set()
    rules = configure([("PRICE_CONTRACT", None, "BLOCK", None)])
    assert [f.severity for f in audit_bill(pricey, ACCOUNT, HISTORY, load_for(pricey), rules)
            if f.code == "PRICE_CONTRACT"] == ["BLOCK"]
    for bad in [("NOPE", None, None, None), ("GAP", None, "FATAL", None),
                ("GAP", None, None, {"nonsense": 1})]:
        with pytest.raises(ConfigError):
            configure([bad])


def test_every_rule_has_labels_in_both_languages():
    assert set(RULE_LABELS) == set(DEFAULT_RULES)
    assert all(zh and en for zh, en in RULE_LABELS.values())


@given(daily=st.decimals(min_value=1, max_value=500, places=2),
       price=st.decimals(min_value=D("0.3"), max_value=D("1.10"), places=4),
       days=st.integers(min_value=28, max_value=31),
       months=st.integers(min_value=0, max_value=3))
def test_consistent_bills_never_raise_findings(daily, price, days, months):
    history = []
    start = date(2024, 1, 1)
    for i in range(months + 1):
        end = start + timedelta(days=days - 1)
        kwh = (daily * days * (1 + D(i) / 50)).quantize(D("0.01"))
        bill = BillFacts(i, f"B{i}", start, end, (kwh * price).quantize(D("0.01")), kwh, price,
                         D(100), D(100) + kwh, None, None, "GENERAL")
        load = LoadFacts(rated_power_wd=kwh * 1000 / 24, smart_kwh=kwh,
                         smart_days=days)
        found = audit_bill(bill, ACCOUNT, history, load)
        assert found == [], [f.message_en for f in found]
        history.append(bill)
        start = end + timedelta(days=1)


@given(st.integers(min_value=0, max_value=3), st.decimals(min_value=1, max_value=9999, places=2))
def test_findings_are_unique_per_rule_and_json_safe(n, kwh):
    bill = month_bill(n, kwh=kwh, invoice_type="", end_reading=D(1))
    found = audit_bill(bill, ACCOUNT, HISTORY, LoadFacts(rated_power_wd=D(1), no_tenant_days=2))
    assert len({f.code for f in found}) == len(found)
    json.dumps([f.figures for f in found])


# ---- issue 12: a declared meter change, and GAP from the bill it follows ---------------

def changed_meter(old_end, new_start, end, kwh, **kw) -> BillFacts:
    """THIS with a meter change (换表): the old meter ran from 10000 to ``old_end``, the
    new one from ``new_start`` to ``end``."""
    return replace(THIS, meter_changed=True, start_reading=D(10000), old_meter_end_reading=old_end,
                   new_meter_start_reading=new_start, end_reading=end, kwh=kwh,
                   amount=(kwh * D("1.10")).quantize(D("0.01")), **kw)


def test_a_declared_meter_change_adds_both_meters():
    # old meter 10000 → 11500 (1500 kWh), new meter 0 → 2840 (2840 kWh): 4340 in all
    bill = changed_meter(D(11500), D(0), D(2840), D(4340))
    assert not {"READING_MISMATCH", "METER_ROLLBACK"} & codes(bill, HISTORY)
    # with multiplier and loss: (1500 + 2840) × 2 + 20
    bill = changed_meter(D(11500), D(0), D(2840), D(8700), multiplier=D(2), loss_kwh=D(20))
    assert "READING_MISMATCH" not in codes(bill, HISTORY)


def test_a_meter_change_whose_readings_disagree_is_still_a_mismatch():
    bill = changed_meter(D(11500), D(0), D(2840), D(4000))
    f = findings(bill, HISTORY)["READING_MISMATCH"]
    assert D(f.figures["benchmark"]) == D(4340) and D(f.figures["actual"]) == D(4000)
    assert "旧表止码 11500" in f.message_zh and "new meter start 0" in f.message_en
    assert "METER_ROLLBACK" not in f.code


def test_without_a_declared_change_the_rules_stand():
    # the same readings without 是否换表: end below start is a rollback, not a mismatch
    bill = replace(changed_meter(D(11500), D(0), D(2840), D(4340)), meter_changed=False)
    assert {"METER_ROLLBACK"} <= codes(bill, HISTORY)
    assert "READING_MISMATCH" not in codes(bill, HISTORY)


def test_an_overlapping_bill_is_not_also_a_gap():
    # B3 starts 5 days inside B2: OVERLAP, and no GAP measured from B1 before it
    shifted = replace(THIS, period_start=HISTORY[2].period_end - timedelta(days=4))
    found = codes(shifted, HISTORY)
    assert "OVERLAP" in found and "GAP" not in found


def test_gap_is_measured_from_the_latest_bill_it_follows():
    # B2 ends 2024-07-31; a bill from 2024-08-06 leaves 5 days uncovered after B2
    late = replace(THIS, period_start=HISTORY[2].period_end + timedelta(days=6))
    f = findings(late, HISTORY)["GAP"]
    assert f.figures["gap_days"] == 5 and "B2" in f.message_en
    # history out of order (a late-arriving B2 comes last): the same measure
    assert findings(late, [HISTORY[2], HISTORY[0], HISTORY[1]])["GAP"].figures["gap_days"] == 5
