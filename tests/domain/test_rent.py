"""domain.rent: the payment schedule (escalation, part periods, exact sums) and the day-by-day
pass-through of a payment (docs/programs/rent.md's worked example to the fen)."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from towerledger.domain import rent as R

D = Decimal


def contract(**kw):
    base = dict(start=date(2023, 4, 1), end=date(2026, 3, 31), annual_rent=D("12000.00"),
                cycle="QUARTERLY", timing="ADVANCE", escalation="PERCENT",
                escalation_pct=D("3"))
    return R.ContractIn(**(base | kw))


def test_schedule_with_yearly_escalation():
    s = R.schedule(contract())
    assert len(s) == 12
    assert [p.amount for p in s] == [D("3000.00")] * 4 + [D("3090.00")] * 4 + [D("3182.70")] * 4
    assert [p.year for p in s] == [1] * 4 + [2] * 4 + [3] * 4
    assert s[4].start == date(2024, 4, 1) and s[4].end == date(2024, 6, 30)
    assert s[4].due == date(2024, 4, 1) and s[4].annual_rent == D("12360.00")
    assert R.contract_total(contract()) == D("37090.80")


def test_arrears_steps_and_a_part_period():
    c = contract(end=date(2024, 5, 15), cycle="QUARTERLY", timing="ARREARS",
                 escalation="STEP", escalation_step=D("600"), escalation_pct=D("0"))
    s = R.schedule(c)
    # year 2 at 12,600: the part quarter 2024-04-01..05-15 is 45 of 91 days of 3,150.00
    # = 1,557.6923…; total 12,000 + 1,557.69 = 13,557.69
    assert [p.amount for p in s] == [D("3000.00")] * 4 + [D("1557.69")]
    assert s[-1].due == date(2024, 5, 15) and s[-1].full_days == 91
    assert R.contract_total(c) == D("13557.69")


def test_month_end_start_clips():
    c = contract(start=date(2024, 1, 31), end=date(2024, 4, 29), cycle="MONTHLY",
                 escalation="NONE", annual_rent=D("1200"))
    s = R.schedule(c)
    assert [(p.start, p.end) for p in s] == [
        (date(2024, 1, 31), date(2024, 2, 28)), (date(2024, 2, 29), date(2024, 3, 30)),
        (date(2024, 3, 31), date(2024, 4, 29))]
    assert [p.amount for p in s] == [D("100.00")] * 3


def test_terminate_prorates_the_period_holding_the_day():
    s = R.terminate(R.schedule(contract()), date(2024, 5, 15))
    assert len(s) == 5 and s[-1].end == date(2024, 5, 15)
    assert s[-1].amount == D("1528.02")        # 3,090.00 × 45/91 half-up


def test_bad_contracts_refused():
    with pytest.raises(ValueError):
        R.schedule(contract(end=date(2023, 1, 1)))
    with pytest.raises(ValueError):
        R.schedule(contract(cycle="WEEKLY"))
    with pytest.raises(ValueError):
        R.annual_rent(contract(escalation="SOMETIMES"), 2)


def tenants():
    return [R.TenantIn(3, "T-ZZ001-CTCC", "CTCC", date(2024, 5, 17), None),
            R.TenantIn(1, "T-ZZ001-CMCC", "CMCC", date(2024, 1, 1), None),
            R.TenantIn(2, "T-ZZ001-CUCC", "CUCC", date(2024, 1, 1), None)]


def test_worked_example_by_tenancy():
    """docs/programs/rent.md: year 2, quarter 2024-04-01..06-30 (91 days), 3,090.00; CTCC
    from 2024-05-17: 46 days two ways, 45 days three ways."""
    shares, flags = R.split_payment(D("3090.00"), date(2024, 4, 1), date(2024, 6, 30),
                                    "TENANCY", tenants())
    got = {s.tenancy_id or "TOWER": (s.amount, s.share, s.active_days) for s in shares}
    assert got == {"T-ZZ001-CMCC": (D("1290.33"), Fraction(38, 91), 91),
                   "T-ZZ001-CUCC": (D("1290.33"), Fraction(38, 91), 91),
                   "T-ZZ001-CTCC": (D("509.34"), Fraction(15, 91), 45),
                   "TOWER": (D("0.00"), Fraction(0), 0)}
    assert flags == {"vacant_days": 0, "ratio_fallback_days": 0}
    period = R.schedule(contract())[4]
    text = R.explain(shares[1], contract_no="HT-ZZ001", period=period, method="TENANCY",
                     total_days=91)
    assert text["text_zh"] == (
        "CTCC租户T-ZZ001-CTCC场租：合同HT-ZZ001，2024-04-01至2024-06-30共91天，第2合同年度，"
        "年租金12360.00元，本期租金3090.00元；按租户均摊，在网45天，份额16.4835%，"
        "分摊509.34元（最大余额法到分）。")
    assert text["share"] == "0.164835"


def test_ratio_renormalised_over_active_vacancy_and_site_fee_days():
    ts = [R.TenantIn(1, "A", "CMCC", date(2024, 1, 11), None, agreed_ratio=D("60")),
          R.TenantIn(2, "B", "CTCC", date(2024, 1, 1), date(2024, 1, 20), agreed_ratio=D("40"),
                     fee_spans=((date(2024, 1, 16), None),))]
    # 30 days: 1-10 B alone (40 → 100 %), 11-15 A 60 / B 40, 16-20 the same but B's part is
    # the tower's (site fee), 21-30 A alone
    shares, _ = R.split_payment(D("300.00"), date(2024, 1, 1), date(2024, 1, 30), "RATIO", ts)
    got = {s.tenancy_id or "TOWER": s.amount for s in shares}
    # A: (5×0.6 + 5×0.6 + 10)/30 × 300 = 160; B: (10 + 5×0.4)/30 × 300 = 120; tower 20
    assert got == {"A": D("160.00"), "B": D("120.00"), "TOWER": D("20.00")}
    shares, flags = R.split_payment(D("100.00"), date(2024, 2, 1), date(2024, 2, 10),
                                    "TENANCY", ts)
    assert [s.amount for s in shares] == [D("100.00"), D("0.00"), D("0.00")]
    shares, flags = R.split_payment(D("100.00"), date(2023, 12, 1), date(2023, 12, 10),
                                    "TENANCY", ts)
    assert shares[-1].amount == D("100.00") and flags["vacant_days"] == 10


def test_benchmark_and_month_cost():
    assert R.median([D("1"), D("3"), D("2")]) == D("2.00")
    assert R.median([D("6000"), D("12360")]) == D("9180.00")
    assert R.above_benchmark(D("13770.01"), D("9180.00"), D("150"))
    assert not R.above_benchmark(D("13770.00"), D("9180.00"), D("150"))
    s = R.schedule(contract())
    assert R.month_cost(s, date(2024, 6, 1), date(2024, 6, 30)) == D("1018.68")
    assert R.current_rent(contract(), date(2025, 4, 1)) == D("12730.80")


days = st.integers(min_value=0, max_value=2000)


@settings(max_examples=150, deadline=None)
@given(start=st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)),
       length=st.integers(min_value=0, max_value=4000),
       rent=st.decimals(min_value=0, max_value=10_000_000, places=2),
       cycle=st.sampled_from(["MONTHLY", "QUARTERLY", "YEARLY"]),
       timing=st.sampled_from(["ADVANCE", "ARREARS"]),
       esc=st.sampled_from(["NONE", "PERCENT", "STEP"]),
       pct=st.decimals(min_value=0, max_value=20, places=2),
       step=st.decimals(min_value=0, max_value=100_000, places=2))
def test_schedule_sums_exactly_to_the_contract_rent(start, length, rent, cycle, timing, esc,
                                                    pct, step):
    c = R.ContractIn(start, start + timedelta(days=length), rent, cycle, timing, esc, pct, step)
    s = R.schedule(c)
    exact = sum((p.exact for p in s), Fraction(0))
    total = sum(p.amount for p in s)
    # sums exactly to the contract's rent (the exact worth, rounded once)
    assert total == R.fen(exact)
    # each period within a fen of its exact worth, never negative
    assert all(abs(Fraction(p.amount) - p.exact) < Fraction(1, 100) and p.amount >= 0 for p in s)
    # periods tile the contract with no gap or overlap; a period never straddles a year
    assert s[0].start == c.start and s[-1].end == c.end
    assert all(a.end + timedelta(days=1) == b.start for a, b in zip(s, s[1:], strict=False))
    assert all(R.year_of(c, p.start) == R.year_of(c, p.end) == p.year for p in s)
    # a full year with no escalation is its annual rent
    if esc == "NONE" and length >= 366 * 2 and cycle != "YEARLY":
        year1 = [p for p in s if p.year == 1]
        assert abs(sum(p.amount for p in year1) - rent) <= D("0.01") * len(year1)


@st.composite
def tenancy_sets(draw):
    base = date(2024, 1, 1)
    n = draw(st.integers(min_value=0, max_value=5))
    out = []
    for i in range(n):
        a = base + timedelta(days=draw(st.integers(min_value=-30, max_value=120)))
        end = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=200)))
        ratio = draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=100, places=2)))
        fee = draw(st.booleans())
        out.append(R.TenantIn(i + 1, f"T{draw(st.integers(0, 9))}{i}", "CMCC", a,
                              None if end is None else a + timedelta(days=end),
                              agreed_ratio=ratio,
                              fee_spans=((a + timedelta(days=10), None),) if fee else ()))
    return out


@settings(max_examples=150, deadline=None)
@given(ts=tenancy_sets(), amount=st.decimals(min_value=0, max_value=1_000_000, places=2),
       length=st.integers(min_value=0, max_value=120),
       method=st.sampled_from(["TENANCY", "RATIO", "TOWER"]))
def test_split_sums_exactly_and_order_does_not_matter(ts, amount, length, method):
    start = date(2024, 1, 1)
    end = start + timedelta(days=length)
    shares, _ = R.split_payment(amount, start, end, method, ts)
    assert sum(s.amount for s in shares) == amount
    assert all(s.amount >= 0 for s in shares)
    assert sum(s.share for s in shares) == 1
    again, _ = R.split_payment(amount, start, end, method, list(reversed(ts)))
    assert {s.key: s.amount for s in again} == {s.key: s.amount for s in shares}
    if method == "TOWER":
        assert shares[-1].amount == amount


def test_refund_of_a_paid_period_after_termination():
    # 3,090.00 paid for 2024-04-01..06-30, ended 2024-05-15: kept 1,528.02, back 1,561.98
    assert R.refund(D("3090.00"), date(2024, 4, 1), date(2024, 6, 30), date(2024, 5, 15)) == \
        D("1561.98")
    assert R.refund(D("100"), date(2024, 4, 1), date(2024, 6, 30), date(2024, 6, 30)) == 0
    assert R.refund(D("100"), date(2024, 4, 1), date(2024, 6, 30), date(2024, 3, 1)) == 100
