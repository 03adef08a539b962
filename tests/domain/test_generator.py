"""油机发电 pure rules: a run's cost, its split (exact to the fen, ties by tenancy code,
tower last), the agreement rule in force, and the run audits."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain.generator import (
    DC_CURRENT,
    EQUAL,
    Party,
    RuleRow,
    RunFacts,
    agreement_method,
    audit_runs,
    method_for,
    run_cost,
    split_run,
)

D = Decimal


def test_cost_is_fuel_to_the_fen_plus_labour_and_transport():
    # 26.5 L × 7.86 = 208.29 exactly; 10.33 L × 7.8650 = 81.245… → 81.25 half-up
    assert run_cost(D("26.50"), D("7.86"), D("150.00"), D("60.00")) == D("418.29")
    assert run_cost(D("10.33"), D("7.8650")) == D("81.25")


def test_worked_example_by_dc_current_with_a_tower_share():
    """docs/programs/generator.md: 418.29 by DC current 40/25/15 A after a 10 % tower share."""
    s = split_run(D("418.29"), [Party("T-ZZ001-CUCC", D("25")), Party("T-ZZ001-CMCC", D("40")),
                                Party("T-ZZ001-CTCC", D("15"))], DC_CURRENT, D("10"))
    assert s.shares == {"T-ZZ001-CMCC": D("188.23"), "T-ZZ001-CTCC": D("70.59"),
                        "T-ZZ001-CUCC": D("117.64")}
    assert list(s.shares) == ["T-ZZ001-CMCC", "T-ZZ001-CTCC", "T-ZZ001-CUCC"]   # code order
    assert s.tower == D("41.83")
    assert s.total == D("418.29")
    assert s.method == DC_CURRENT and not s.fallback
    assert s.ratios["T-ZZ001-CMCC"] == D("0.450000")


def test_equal_ties_go_to_the_lowest_code_and_the_tower_last():
    s = split_run(D("100.00"), [Party("B"), Party("A"), Party("C")], EQUAL)
    assert s.shares == {"A": D("33.34"), "B": D("33.33"), "C": D("33.33")}
    assert s.tower == D("0.00")
    # a quarter each with the tower at 25 %: 0.01 left over goes to A, never to the tower
    s = split_run(D("0.05"), [Party("B"), Party("A"), Party("C")], EQUAL, D("25"))
    assert (s.shares, s.tower) == ({"A": D("0.02"), "B": D("0.01"), "C": D("0.01")}, D("0.01"))


def test_dc_current_falls_back_to_equal_when_a_current_is_missing_or_all_zero():
    s = split_run(D("90.00"), [Party("A", D("10")), Party("B", None)], DC_CURRENT)
    assert (s.method, s.asked, s.fallback) == (EQUAL, DC_CURRENT, "NO_CURRENT")
    assert s.shares == {"A": D("45.00"), "B": D("45.00")}
    s = split_run(D("90.00"), [Party("A", D("0")), Party("B", D("0"))], DC_CURRENT)
    assert s.fallback == "ZERO_CURRENT"


def test_no_tenancy_during_the_outage_leaves_the_tower_the_whole_cost():
    s = split_run(D("321.45"), [], DC_CURRENT, D("5"))
    assert s.shares == {} and s.tower == D("321.45")


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        split_run(D("1.00"), [Party("A")], "RATED_POWER")
    with pytest.raises(ValueError):
        split_run(D("1.00"), [Party("A")], EQUAL, D("101"))


@given(cost=st.decimals(min_value=0, max_value=10**7, places=2),
       currents=st.lists(st.one_of(st.none(), st.decimals(min_value=0, max_value=500, places=2)),
                         min_size=0, max_size=6),
       tower=st.decimals(min_value=0, max_value=100, places=2),
       method=st.sampled_from([EQUAL, DC_CURRENT]))
def test_parts_always_sum_exactly_to_the_cost_and_never_go_negative(cost, currents, tower,
                                                                    method):
    parties = [Party(f"T{i:02d}", c) for i, c in enumerate(currents)]
    s = split_run(cost, parties, method, tower)
    assert s.total == cost
    assert all(x >= 0 for x in (*s.shares.values(), s.tower))
    assert set(s.shares) == {p.code for p in parties}
    # order of the input does not matter (business codes decide ties, never arrival)
    assert split_run(cost, list(reversed(parties)), method, tower) == s


def test_the_agreement_rule_is_dated_per_province_and_operator_default_equal():
    rows = [RuleRow(date(2024, 1, 1), DC_CURRENT, province=1),
            RuleRow(date(2024, 7, 1), EQUAL, province=1, operator="CTCC"),
            RuleRow(date(2024, 9, 1), EQUAL, province=1)]
    assert method_for(rows, 2, "CMCC", date(2024, 8, 1)) == EQUAL          # other province
    assert method_for(rows, 1, "CMCC", date(2023, 12, 31)) == EQUAL        # not yet
    assert method_for(rows, 1, "CMCC", date(2024, 8, 1)) == DC_CURRENT
    assert method_for(rows, 1, "CTCC", date(2024, 6, 30)) == DC_CURRENT
    assert method_for(rows, 1, "CTCC", date(2024, 8, 1)) == EQUAL          # its own row
    assert method_for(rows, 1, "CMCC", date(2024, 9, 1)) == EQUAL          # a later change
    assert agreement_method(rows, 1, {"CMCC", "CUCC"}, date(2024, 8, 1)) == (DC_CURRENT, False)
    assert agreement_method(rows, 1, {"CMCC", "CTCC"}, date(2024, 8, 1)) == (EQUAL, True)
    assert agreement_method(rows, 1, set(), date(2024, 8, 1)) == (EQUAL, False)


T0 = datetime(2024, 7, 20, 22, 0)


def run(key, start_h=0.0, hours="8.00", litres="26.50", rated="4.00", outage="O1",
        end_h=None, site="S1", o_hours=8.5):
    start = T0 + timedelta(hours=start_h)
    end = T0 + timedelta(hours=end_h if end_h is not None else start_h + float(hours))
    return RunFacts(key=key, run_no=f"R{key}", site=site, start=start, end=end, hours=D(hours),
                    litres=D(litres), rated_lph=D(rated) if rated else None, outage=outage,
                    outage_start=T0 if outage else None,
                    outage_end=T0 + timedelta(hours=o_hours) if outage else None)


def codes(found):
    return {k: sorted(f.code for f in v) for k, v in found.items()}


def test_a_clean_run_has_no_findings():
    assert codes(audit_runs([run(1)])) == {1: []}


def test_hours_longer_than_the_outage_and_litres_beyond_the_rating_block():
    found = audit_runs([run(1, hours="9.00", litres="45.00", rated="4.00")])
    assert codes(found) == {1: ["GEN_HOURS", "GEN_RATE"]}
    rate = next(f for f in found[1] if f.code == "GEN_RATE")
    assert rate.severity == "BLOCK" and rate.figures["litres_per_hour"] == "5.00"
    # 4.40 L/h is within the 10 % tolerance of a 4.00 L/h rating
    assert codes(audit_runs([run(1, litres="35.20")])) == {1: []}


def test_no_outage_blocks_and_an_unknown_rating_warns():
    found = audit_runs([run(1, outage=None, rated=None)])
    assert {(f.code, f.severity) for f in found[1]} == {("GEN_NO_OUTAGE", "BLOCK"),
                                                         ("GEN_NO_RATING", "WARN")}


def test_overlapping_runs_on_one_outage_and_duplicates_under_two_numbers():
    found = audit_runs([run(1, 0, "4.00", "13.00"), run(2, 3, "4.00", "13.00"),
                        run(3, 7, "1.00", "3.00")])
    assert codes(found) == {1: ["GEN_OVERLAP"], 2: ["GEN_OVERLAP"], 3: []}
    found = audit_runs([run(1), run(2)])          # same times and litres, two numbers
    assert codes(found) == {1: ["GEN_DUPLICATE"], 2: ["GEN_DUPLICATE"]}
    assert found[1][0].figures["other"] == "R2"
    # a flood night: two sites' runs may share times and litres without being one run
    assert codes(audit_runs([run(1, site="S1", outage="O1"), run(2, site="S2", outage="O2")])) \
        == {1: [], 2: []}
    # back-to-back runs do not overlap; runs of two outages never do
    assert codes(audit_runs([run(1, 0, "4.00", "13.00"), run(2, 4, "4.00", "13.00")])) == \
        {1: [], 2: []}
