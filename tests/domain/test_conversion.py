"""转改直 pure rules: the project state machine, the candidates' figures, savings, payback
and the operators' split of a saving (hand-computed, to the fen)."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain import conversion as c
from towerledger.domain.errors import DomainError, ErrorCode

D = Decimal


def test_the_state_machine_goes_forward_only():
    s = c.SUBMITTED
    for step, expected in (("approve", c.APPROVED), ("build", c.BUILT), ("complete", c.DONE)):
        s = c.next_state(s, step)
        assert s == expected
    with pytest.raises(DomainError) as e:
        c.next_state(c.DONE, "fail")
    assert e.value.code == ErrorCode.ILLEGAL_TRANSITION
    with pytest.raises(DomainError):
        c.next_state(c.SUBMITTED, "complete")
    with pytest.raises(DomainError):
        c.next_state(c.SUBMITTED, "nonsense")
    for open_state in c.OPEN:
        assert c.next_state(open_state, "fail") == c.FAILED
    assert c.allowed_steps(c.DONE) == [] and c.allowed_steps(c.FAILED) == []
    assert c.allowed_steps(c.APPROVED) == ["build", "fail"]


@given(st.lists(st.sampled_from(list(c.STEPS)), max_size=8))
def test_any_sequence_of_steps_reaches_only_reachable_states(steps):
    s, seen = c.SUBMITTED, [c.SUBMITTED]
    for step in steps:
        try:
            s = c.next_state(s, step)
        except DomainError:
            continue
        seen.append(s)
    order = [c.SUBMITTED, c.APPROVED, c.BUILT, c.DONE]
    core = [x for x in seen if x != c.FAILED]
    assert core == sorted(core, key=order.index)       # never backwards
    if c.FAILED in seen:
        assert seen[-1] == c.FAILED and c.DONE not in seen


def test_yearly_kwh_is_day_weighted():
    # one May bill: 4,320 kWh over 31 days → 4,320 × 365 / 31 = 50,864.516… → 50,864.52
    assert c.yearly_kwh(D(4320), date(2024, 5, 1), date(2024, 5, 31)) == D("50864.52")
    # a quarterly bill weighs three months: 9,100 kWh over 91 days = 100 a day
    assert c.yearly_kwh(D(9100), date(2024, 1, 1), date(2024, 3, 31)) == D("36500.00")
    assert c.yearly_kwh(None, None, None) == D("0.00")


def test_ranking_figure_and_projection():
    # 50,864.52 × (1.10 − 0.65) − 30,000 = 22,889.034 − 30,000 = −7,110.97 (rounded)
    assert c.ranking_figure(D("50864.52"), D("1.10"), D("0.65"), D("30000")) == D("-7110.97")
    # no gap: only the cost counts against
    assert c.ranking_figure(D("1000"), D("0.60"), D("0.65"), D("100")) == D("-100.00")
    assert c.projected_monthly_savings(D("50864.52"), D("1.10"), D("0.65")) == D("1907.42")


def test_bill_saving_and_when_a_bill_counts():
    assert c.bill_saving(D(4650), D("1.10"), D("0.65")) == D("2092.50")
    assert c.bill_saving(None, D("1.10"), D("0.65")) == D("0.00")
    assert c.bill_saving(D(100), D("0.60"), D("0.65")) == D("0.00")      # floored
    assert c.counts_after(date(2024, 7, 1), date(2024, 6, 30))
    assert c.counts_after(date(2024, 6, 30), date(2024, 6, 30))       # direct from that date
    assert not c.counts_after(date(2024, 6, 29), date(2024, 6, 30))
    assert c.direct_from(date(2024, 6, 30)) == date(2024, 6, 30)


def test_payback_worked_example():
    """docs/programs/conversion.md: cost 21,000.00, 2,092.50 saved each month from July
    2024: 10 months make 20,925.00, the 11th (May 2025) passes the cost."""
    months = [date(2024 + (6 + i) // 12, (6 + i) % 12 + 1, 1) for i in range(12)]
    p = c.payback(D("21000.00"), D("1907.42"), [(m, D("2092.50")) for m in months])
    assert p.reached == date(2025, 5, 1)
    assert p.months[9].cumulative == D("20925.00") and p.months[9].remaining == D("75.00")
    assert p.months[10].cumulative == D("23017.50") and p.months[10].remaining == D("0.00")
    assert p.projected_months == D("11.1")      # 21,000 ÷ 1,907.42 = 11.0096… → 11.1
    assert p.realised_monthly == D("2092.50")
    assert p.realised_months == D("10.1")       # 21,000 ÷ 2,092.50 = 10.0358… → 10.1
    assert p.months[0].projected_cumulative == D("1907.42")
    assert p.months[11].projected_cumulative == D("22889.04")


def test_payback_not_reached_and_no_savings():
    p = c.payback(D("1000.00"), D("0.00"), [(date(2024, 7, 1), D("0.00"))])
    assert p.reached is None and p.projected_months is None and p.realised_months is None


def test_saving_split_by_cost_shares_tower_last():
    parts = [(("ZZ002", "CMCC"), D("718.20")), (("ZZ002", "CTCC"), D("478.80")),
             (("ZZ003", ""), D("513.00"))]
    assert c.split_saving(D("150.00"), parts) == {
        ("ZZ002", "CMCC"): D("63.00"), ("ZZ002", "CTCC"): D("42.00"), ("ZZ003", ""): D("45.00")}
    assert c.operator_shares(D("150.00"), parts) == {"CMCC": D("63.00"), "CTCC": D("42.00"),
                                                    "": D("45.00")}
    assert list(c.split_saving(D(1), [(("A", ""), D(1)), (("B", "CMCC"), D(1))])) == [
        ("B", "CMCC"), ("A", "")]
    assert c.split_saving(D(5), []) == {}


@given(st.decimals(min_value=0, max_value=10**6, places=2),
       st.lists(st.tuples(st.sampled_from(["S1", "S2"]), st.sampled_from(["CMCC", "CTCC", ""]),
                          st.decimals(min_value=0, max_value=10**5, places=2)),
                min_size=1, max_size=6))
def test_split_sums_exactly_and_is_never_negative(saving, rows):
    parts = [((s, o), a) for s, o, a in rows]
    split = c.split_saving(saving, parts)
    assert sum(split.values()) == saving
    assert all(v >= 0 for v in split.values())
    assert sum(c.operator_shares(saving, parts).values()) == saving
