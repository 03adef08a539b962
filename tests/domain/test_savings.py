"""Theft cases and savings (DOMAIN.md §7): the case workflow as a table, use per day
day-weighted, savings floored at zero, and the tower's share split exactly — DOMAIN's own
example (1,000.00 saved, 50 %, 60 % / 40 % → 300.00 and 200.00) to the fen."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain import savings as s
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.months import month_end

D = Decimal
S, E = s.CaseState, s.CaseEvent
fen = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
per_day = st.decimals(min_value=0, max_value=10**4, places=4, allow_nan=False,
                      allow_infinity=False)
price = st.decimals(min_value=D("0.01"), max_value=5, places=4, allow_nan=False,
                    allow_infinity=False)


def test_domain_example_to_the_fen():
    tower = s.tower_share_amount(D("1000.00"), D("0.50"))
    assert tower == D("500.00")
    assert s.split_by_cost_shares(tower, [("CMCC", D(60)), ("CUCC", D(40))]) == {
        "CMCC": D("300.00"), "CUCC": D("200.00")}


def test_workflow_happy_path_and_dismissal():
    state = S.SUSPECTED
    for ev, expected in ((E.INVESTIGATE, S.INVESTIGATING), (E.CONFIRM, S.CONFIRMED),
                         (E.REMEDIATE, S.REMEDIATED), (E.CLOSE, S.CLOSED)):
        state = s.next_state(state, ev)
        assert state == expected
    assert s.next_state(s.next_state(S.SUSPECTED, E.INVESTIGATE), E.DISMISS) == S.DISMISSED
    assert s.next_state(S.DISMISSED, E.CLOSE) == S.CLOSED
    assert s.TERMINAL == {S.CLOSED}


@given(st.lists(st.sampled_from(list(E)), max_size=15))
def test_random_event_sequences_follow_the_table(events):
    state, seen = S.SUSPECTED, [S.SUSPECTED]
    for ev in events:
        if (state, ev) in s.TRANSITIONS:
            state = s.next_state(state, ev)
            seen.append(state)
        else:
            with pytest.raises(DomainError) as exc:
                s.next_state(state, ev)
            assert exc.value.code == ErrorCode.ILLEGAL_TRANSITION
    # never back: a case never returns to a state it left, and remediation needs confirmation
    assert len(seen) == len(set(seen))
    if S.REMEDIATED in seen:
        assert seen.index(S.CONFIRMED) < seen.index(S.REMEDIATED)
    assert not (S.CONFIRMED in seen and S.DISMISSED in seen)


def test_baseline_is_day_weighted_over_the_three_months_before_detection():
    bills = [s.BillUse(date(2024, 2, 1), date(2024, 2, 29), D(8700), D("1.10")),
             s.BillUse(date(2024, 3, 1), date(2024, 3, 31), D(9455), D("1.10")),
             s.BillUse(date(2024, 4, 1), date(2024, 4, 30), D(8850), D("1.10")),
             s.BillUse(date(2024, 5, 1), date(2024, 5, 31), D(9610), D("1.10"))]
    assert s.baseline_window(date(2024, 5, 5)) == (date(2024, 2, 5), date(2024, 5, 4))
    b = s.baseline(bills, date(2024, 5, 5))
    # 8700×25/29 + 9455 + 8850 + 9610×4/31 = 7500 + 9455 + 8850 + 1240 = 27045 over 90 days
    assert (b.per_day, b.days) == (D("300.5000"), 90)
    assert s.baseline([], date(2024, 5, 5)).per_day is None


def test_month_savings_and_its_floor():
    bills = [s.BillUse(date(2024, 6, 1), date(2024, 6, 30), D(7200), D("1.10")),
             s.BillUse(date(2024, 12, 1), date(2024, 12, 31), D(9610), D("1.10"))]
    june = s.month_savings(D("300.5000"), bills, date(2024, 6, 1))
    assert (june.actual_per_day, june.days, june.unit_price, june.savings) == (
        D("240.0000"), 30, D("1.10"), D("1996.50"))   # 60.5 × 30 × 1.10
    assert s.month_savings(D("300.5000"), bills, date(2024, 12, 1)).savings == D("0.00")
    assert s.month_savings(D("300.5000"), bills, date(2024, 7, 1)) is None
    assert s.savings_months(date(2024, 5, 20))[0] == date(2024, 6, 1)
    assert s.savings_months(date(2024, 5, 20))[-1] == date(2025, 5, 1)
    assert len(s.savings_months(date(2024, 12, 31))) == 12


def test_the_price_is_that_of_the_bill_covering_most_of_the_month():
    bills = [s.BillUse(date(2024, 5, 20), date(2024, 6, 10), D(100), D("1.00")),
             s.BillUse(date(2024, 6, 11), date(2024, 7, 10), D(100), D("1.20"))]
    assert s.month_price(bills, date(2024, 6, 1)) == D("1.20")


@given(per_day, per_day, st.integers(min_value=0, max_value=31), price)
def test_savings_are_never_negative(baseline, actual, days, unit_price):
    got = s.savings_of(baseline, actual, days, unit_price)
    assert got >= 0 and got == got.quantize(D("0.01"))
    if actual >= baseline:
        assert got == 0


@given(fen, st.decimals(min_value=0, max_value=1, places=4, allow_nan=False,
                        allow_infinity=False),
       st.lists(fen, min_size=1, max_size=6), fen)
def test_shares_sum_to_the_towers_share_exactly(saving, share, operators, tower_part):
    tower = s.tower_share_amount(saving, share)
    weights = [(f"T{i:02d}", w) for i, w in enumerate(operators)] + [(s.TOWER, tower_part)]
    parts = s.split_by_cost_shares(tower, weights)
    assert sum(parts.values()) == tower
    assert all(v >= 0 for v in parts.values())
    assert tower <= saving or saving == 0 or share == 1


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
       st.integers(min_value=-30, max_value=30))
def test_add_months_stays_in_the_target_month(d, n):
    got = s.add_months(d, n)
    assert (got.year * 12 + got.month) - (d.year * 12 + d.month) == n
    assert got.day == min(d.day, month_end(got).day)


def test_step_due():
    assert s.step_due(date(2024, 1, 1)) == date(2024, 1, 1) + timedelta(days=30)
