"""Allocation of a paid bill over sites and tenancies (DOMAIN.md §3), to the fen."""

import json
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from towerledger.domain.allocation import (
    BillIn,
    RuleIn,
    SiteIn,
    TenancyIn,
    _share_site,
    allocate,
    lump_sum_line,
)
from towerledger.domain.money import largest_remainder

D = Decimal
MAY1, MAY31 = date(2024, 5, 1), date(2024, 5, 31)
LONG_AGO = date(2020, 1, 1)


def t(key, op="CMCC", start=LONG_AGO, end=None, mode="RESALE", **inputs):
    return TenancyIn(key, f"T{key}", op, start, end, mode, **inputs)


def rule(method, since=LONG_AGO, **kw):
    return RuleIn(since, method, **kw)


def site(*tenancies, rules=(), code="S1", split="100"):
    return SiteIn(code, D(split), tuple(tenancies), tuple(rules))


def bill(amount="4752.00", kwh="4320", start=MAY1, end=MAY31):
    return BillIn("B1", D(amount), None if kwh is None else D(kwh), start, end)


def f13(op):
    return D("0.13")


def by_key(alloc):
    return {ln.tenancy_key: ln for ln in alloc.lines if ln.tenancy_key is not None}


def tower(alloc, code="S1"):
    [ln] = [ln for ln in alloc.lines if ln.tenancy_key is None and ln.site_code == code]
    return ln


def costs(alloc):
    return {k: ln.cost_share for k, ln in by_key(alloc).items()}


def codes(alloc):
    return [(s, c) for s, c, _ in alloc.flags]


def three_operators(**kw):
    ops = {1: "CMCC", 2: "CUCC", 3: "CTCC"}
    return [t(k, ops[k], **{n: v[k - 1] for n, v in kw.items()}) for k in (1, 2, 3)]


# ---- the worked examples of DOMAIN.md §3 ------------------------------------------------


def test_worked_example_dc_current_general_invoice():
    ts = three_operators(dc_current_a=[D(40), D(25), D(15)])
    a = allocate(bill(), [site(*ts, rules=[rule("DC_CURRENT")])], f13)
    lines = by_key(a)
    assert [lines[k].share for k in (1, 2, 3)] == [D("0.500000"), D("0.312500"), D("0.187500")]
    assert [lines[k].cost_share for k in (1, 2, 3)] == [D("2376.00"), D("1485.00"), D("891.00")]
    assert [lines[k].tax_factor for k in (1, 2, 3)] == [D("0.1300")] * 3
    assert [lines[k].tax_amount for k in (1, 2, 3)] == [D("308.88"), D("193.05"), D("115.83")]
    assert [lines[k].receivable for k in (1, 2, 3)] == [D("2684.88"), D("1678.05"),
                                                        D("1006.83")]
    assert tower(a).cost_share == D("0.00") and a.flags == ()


def test_worked_example_equal_with_ctcc_starting_mid_month():
    ts = [t(1, "CMCC"), t(2, "CUCC"), t(3, "CTCC", start=date(2024, 5, 17))]
    a = allocate(bill(), [site(*ts, rules=[rule("EQUAL")])], f13)
    lines = by_key(a)
    assert lines[3].active_days == 15 and lines[1].active_days == 31
    assert [lines[k].share for k in (1, 2, 3)] == [D("0.419355"), D("0.419355"), D("0.161290")]
    assert sum(ln.cost_share for ln in a.lines) == D("4752.00")
    # 4752 × 5/31 = 766.4516…, × 13/31 = 1992.7742… each: the leftover fen goes to key 1
    assert [lines[k].cost_share for k in (1, 2, 3)] == [D("1992.78"), D("1992.77"), D("766.45")]
    assert lines[3].trace["daily_shares"] == [
        {"from": "2024-05-17", "to": "2024-05-31", "days": 15, "method": "EQUAL",
         "share_of_day": "1/3"}]
    assert [r["days"] for r in lines[3].trace["runs"]] == [16, 15]


# ---- each method -------------------------------------------------------------------------


def test_fixed_ratio_is_renormalised_over_the_tenancies_active_that_day():
    ts = [t(1, agreed_ratio=D(50)), t(2, agreed_ratio=D(30)),
          t(3, agreed_ratio=D(20), end=date(2024, 5, 10))]
    a = allocate(bill("3100.00"), [site(*ts, rules=[rule("FIXED_RATIO")])], f13)
    # days 1–10: 50/30/20; days 11–31: 50/30 renormalised to 62.5 % / 37.5 %
    exact1 = Fraction(10, 31) * Fraction(1, 2) + Fraction(21, 31) * Fraction(5, 8)
    assert by_key(a)[1].trace["exact_share"] == str(exact1)
    assert costs(a) == {1: D("1812.50"), 2: D("1087.50"), 3: D("200.00")}
    assert tower(a).cost_share == D("0.00")


def test_rated_power_weights():
    ts = [t(1, rated_power_w=D(1300)), t(2, rated_power_w=D(3500))]
    a = allocate(bill("480.00"), [site(*ts, rules=[rule("RATED_POWER")])], f13)
    assert costs(a) == {1: D("130.00"), 2: D("350.00")}


def test_equal_is_the_default_when_no_rule_is_in_force():
    ts = [t(1), t(2)]
    later = rule("DC_CURRENT", since=date(2025, 1, 1))
    a = allocate(bill("100.00"), [site(*ts, rules=[later])], f13)
    assert costs(a) == {1: D("50.00"), 2: D("50.00")} and a.flags == ()
    assert by_key(a)[1].trace["runs"][0]["method"] == "EQUAL"


def test_all_zero_fixed_ratios_leave_the_day_to_the_tower():
    ts = [t(1, agreed_ratio=D(0)), t(2, agreed_ratio=D(0))]
    a = allocate(bill("100.00"), [site(*ts, rules=[rule("FIXED_RATIO")])], f13)
    assert costs(a) == {1: D("0.00"), 2: D("0.00")}
    assert tower(a).cost_share == D("100.00")
    assert codes(a) == [("S1", "ZERO_WEIGHT")]


# ---- fallback ----------------------------------------------------------------------------


def test_missing_dc_current_makes_the_whole_site_fall_back_with_a_flag():
    ts = three_operators(dc_current_a=[D(40), None, D(15)])
    a = allocate(bill("300.00"), [site(*ts, rules=[rule("DC_CURRENT")])], f13)
    assert costs(a) == {1: D("100.00"), 2: D("100.00"), 3: D("100.00")}
    [(code_, flag, message)] = a.flags
    assert (code_, flag) == ("S1", "FALLBACK") and "T2" in message and "T1" not in message


def test_zero_rated_power_falls_back_to_the_rules_fallback_method():
    ts = [t(1, rated_power_w=D(0), dc_current_a=D(30)), t(2, rated_power_w=D(900),
                                                         dc_current_a=D(10))]
    r = rule("RATED_POWER", fallback_method="DC_CURRENT")
    a = allocate(bill("100.00"), [site(*ts, rules=[r])], f13)
    assert costs(a) == {1: D("75.00"), 2: D("25.00")}
    assert codes(a) == [("S1", "FALLBACK")]


def test_a_fallback_lacking_input_too_ends_at_equal():
    ts = [t(1, agreed_ratio=D(60)), t(2)]
    r = rule("FIXED_RATIO", fallback_method="DC_CURRENT")
    a = allocate(bill("100.00"), [site(*ts, rules=[r])], f13)
    assert costs(a) == {1: D("50.00"), 2: D("50.00")}
    assert codes(a) == [("S1", "FALLBACK"), ("S1", "FALLBACK")]


def test_a_tenancy_inactive_all_period_does_not_trigger_fallback_and_gets_no_line():
    ts = [t(1, dc_current_a=D(30)), t(2, dc_current_a=D(10)),
          t(3, end=date(2024, 4, 30)), t(4, start=date(2024, 6, 1))]
    a = allocate(bill("100.00"), [site(*ts, rules=[rule("DC_CURRENT")])], f13)
    assert costs(a) == {1: D("75.00"), 2: D("25.00")} and a.flags == ()


# ---- tower share, vacancy, rule changes ------------------------------------------------


def test_tower_share_comes_off_first():
    ts = [t(1), t(2)]
    a = allocate(bill("1000.00"), [site(*ts, rules=[rule("EQUAL", tower_share=D(10))])], f13)
    assert costs(a) == {1: D("450.00"), 2: D("450.00")}
    assert tower(a).cost_share == D("100.00")
    assert tower(a).trace["tower_borne"] == [["own_load", "1/10"]]


def test_tenancy_ending_mid_period_leaves_its_days_to_the_others():
    ts = [t(1), t(2, end=date(2024, 5, 15))]
    a = allocate(bill("3100.00"), [site(*ts, rules=[rule("EQUAL")])], f13)
    # days 1–15 two ways, 16–31 CMCC alone
    assert costs(a) == {1: D("2350.00"), 2: D("750.00")}
    assert by_key(a)[2].active_days == 15


def test_days_with_no_active_tenancy_are_tower_borne():
    ts = [t(1, start=date(2024, 5, 11), end=date(2024, 5, 20))]
    a = allocate(bill("3100.00"), [site(*ts)], f13)
    assert costs(a) == {1: D("1000.00")}
    assert tower(a).cost_share == D("2100.00")
    assert tower(a).trace["tower_borne"] == [["vacant", "21/31"]]


def test_rule_change_mid_period():
    ts = [t(1, dc_current_a=D(30)), t(2, dc_current_a=D(10))]
    rules = [rule("DC_CURRENT", since=date(2024, 5, 11)), rule("EQUAL")]
    a = allocate(bill("3100.00"), [site(*ts, rules=rules)], f13)
    # days 1–10 EQUAL 500/500, days 11–31 DC 3:1 of 2100
    assert costs(a) == {1: D("2075.00"), 2: D("1025.00")}
    assert [r["method"] for r in by_key(a)[1].trace["runs"]] == ["EQUAL", "DC_CURRENT"]


def test_no_tenancy_at_all_is_all_tower_borne():
    a = allocate(bill("123.45"), [site()], f13)
    [only] = a.lines
    assert only.tenancy_key is None and only.cost_share == D("123.45")
    assert only.share == D("1.000000") and only.receivable == D("0.00")
    assert only.active_days == 31


def test_a_zero_bill_gives_zero_lines():
    a = allocate(bill("0.00"), [site(t(1), t(2))], f13)
    assert all(ln.cost_share == 0 and ln.receivable == 0 for ln in a.lines)


# ---- SUBMETER ----------------------------------------------------------------------------


def submeter_site(policy, m1="300", m2="200", tower_share="0", **kw):
    ts = [t(1, submeter_kwh=D(m1)), t(2, submeter_kwh=D(m2), **kw)]
    r = rule("SUBMETER", common_policy=policy, tower_share=D(tower_share))
    return site(*ts, rules=[r])


def test_submeter_common_pro_rata_to_metered_kwh():
    a = allocate(bill("1000.00", kwh="1000"), [submeter_site("PRO_RATA")], f13)
    assert costs(a) == {1: D("600.00"), 2: D("400.00")} and a.flags == ()


def test_submeter_common_equal_per_tenancy_day():
    a = allocate(bill("1000.00", kwh="1000"), [submeter_site("EQUAL")], f13)
    assert costs(a) == {1: D("550.00"), 2: D("450.00")}


def test_submeter_common_tower_bears():
    a = allocate(bill("1000.00", kwh="1000"), [submeter_site("TOWER_BEARS")], f13)
    assert costs(a) == {1: D("300.00"), 2: D("200.00")}
    assert tower(a).cost_share == D("500.00")
    assert tower(a).trace["tower_borne"] == [["common", "1/2"]]


def test_submeter_tower_share_is_part_of_the_unmetered_load():
    # tower 10 % = 100 kWh, metered 500, common 400 shared equally
    a = allocate(bill("1000.00", kwh="1000"), [submeter_site("EQUAL", tower_share="10")], f13)
    assert costs(a) == {1: D("500.00"), 2: D("400.00")}
    assert tower(a).cost_share == D("100.00")


def test_submeter_negative_common_is_flagged_and_shared_by_metered_kwh():
    a = allocate(bill("1200.00", kwh="1000"), [submeter_site("EQUAL", m1="700", m2="500")],
                 f13)
    assert costs(a) == {1: D("700.00"), 2: D("500.00")}
    assert codes(a) == [("S1", "NEGATIVE_COMMON")]


def test_submeter_common_only_on_the_days_a_tenancy_is_active():
    # CUCC leaves after day 15 of 30; its 100 metered kWh are its own, the 200 kWh of
    # common load are spread 3:1 on days 1–15 and all to CMCC on days 16–30
    june = dict(start=date(2024, 6, 1), end=date(2024, 6, 30))
    s = submeter_site("PRO_RATA", m1="300", m2="100", end=date(2024, 6, 15))
    a = allocate(bill("600.00", kwh="600", **june), [s], f13)
    assert costs(a) == {1: D("475.00"), 2: D("125.00")}


def test_submeter_from_mid_period_counts_the_metered_kwh_of_its_days():
    # EQUAL on June 1–15, SUBMETER from June 16: half of each reading and of the site's
    # 600 kWh fall in the SUBMETER days: 150 + 50 metered, 100 common shared 3:1
    june = dict(start=date(2024, 6, 1), end=date(2024, 6, 30))
    ts = [t(1, submeter_kwh=D(300)), t(2, submeter_kwh=D(100))]
    rules = [rule("EQUAL"), rule("SUBMETER", since=date(2024, 6, 16))]
    a = allocate(bill("600.00", kwh="600", **june), [site(*ts, rules=rules)], f13)
    assert costs(a) == {1: D("375.00"), 2: D("225.00")}
    submeter = by_key(a)[1].trace["runs"][1]
    assert submeter["metered_kwh"] == [["T1", "150.00"], ["T2", "50.00"]]
    assert submeter["common_kwh"] == "100.00"


def test_submeter_with_no_kwh_anywhere_is_tower_borne():
    s = submeter_site("PRO_RATA", m1="0", m2="0")
    a = allocate(bill("10.00", kwh="0"), [s], f13)
    assert costs(a) == {1: D("0.00"), 2: D("0.00")} and tower(a).cost_share == D("10.00")
    assert codes(a) == [("S1", "ZERO_WEIGHT")]


def test_submeter_without_bill_kwh_or_reading_falls_back():
    a = allocate(bill("100.00", kwh=None), [submeter_site("PRO_RATA")], f13)
    assert costs(a) == {1: D("50.00"), 2: D("50.00")}
    [(_, code_, message)] = a.flags
    assert code_ == "FALLBACK" and "bill kwh" in message
    ts = [t(1, submeter_kwh=D(300)), t(2)]
    a = allocate(bill("100.00", kwh="1000"), [site(*ts, rules=[rule("SUBMETER")])], f13)
    assert costs(a) == {1: D("50.00"), 2: D("50.00")} and "T2" in a.flags[0][2]


def test_submeter_uses_the_sites_part_of_the_bill_kwh():
    # site S1 takes 50 % of 2000 kWh: 1000 kWh, as in the PRO_RATA case
    other = site(t(9), code="S2", split="50")
    s1 = SiteIn("S1", D(50), submeter_site("TOWER_BEARS").tenancies,
                submeter_site("TOWER_BEARS").rules)
    a = allocate(bill("2000.00", kwh="2000"), [s1, other], f13)
    assert costs(a) == {1: D("300.00"), 2: D("200.00"), 9: D("1000.00")}
    assert tower(a, "S1").cost_share == D("500.00")


# ---- sites, modes, rounding ------------------------------------------------------------


def test_multi_site_split_rounds_sites_first_then_lines():
    s1 = site(t(5), t(2), code="S1", split="60")
    s2 = site(t(3), t(1, end=date(2024, 5, 15)), code="S2", split="40")
    a = allocate(bill("100.00"), [s1, s2], f13)
    assert sum(ln.cost_share for ln in a.lines) == D("100.00")
    # S2: CTCC alone on days 16–31; 40 × 15/31 / 2 = 9.677… gets the leftover fen
    assert costs(a) == {2: D("30.00"), 5: D("30.00"), 3: D("30.32"), 1: D("9.68")}
    assert tower(a, "S2").cost_share == D("0.00")
    assert [(ln.site_code, ln.tenancy_key) for ln in a.lines] == [
        ("S1", 2), ("S1", 5), ("S1", None), ("S2", 1), ("S2", 3), ("S2", None)]


def test_leftover_fen_ties_go_to_ascending_tenancy_key_then_tower():
    ts = [t(7), t(3), t(5)]
    a = allocate(bill("1.00"), [site(*ts)], f13)
    assert costs(a) == {3: D("0.34"), 5: D("0.33"), 7: D("0.33")}
    a = allocate(bill("0.01", end=date(2024, 5, 2)), [site(t(3, end=date(2024, 5, 1)))], f13)
    # tenancy 1/2, tower 1/2 of one fen: the tie goes to the tenancy, tower-borne last
    assert costs(a) == {3: D("0.01")} and tower(a).cost_share == D("0.00")


def test_on_behalf_has_no_tax_factor():
    def no_lookup(op):
        raise AssertionError("ON_BEHALF never asks for a tax factor")

    a = allocate(bill("100.00"), [site(t(1, mode="ON_BEHALF"), t(2, mode="ON_BEHALF"))],
                 no_lookup)
    for ln in by_key(a).values():
        assert ln.tax_factor == D("0.0000") and ln.tax_amount == D("0.00")
        assert ln.receivable == ln.cost_share == D("50.00")


def test_tax_factor_per_operator_is_rounded_to_four_places():
    factors = {"CMCC": D("0.0367"), "CUCC": D("0")}
    a = allocate(bill("100.00"), [site(t(1, "CMCC"), t(2, "CUCC"))], factors.__getitem__)
    lines = by_key(a)
    assert (lines[1].tax_factor, lines[1].tax_amount, lines[1].receivable) == (
        D("0.0367"), D("1.84"), D("51.84"))
    assert (lines[2].tax_factor, lines[2].tax_amount, lines[2].receivable) == (
        D("0.0000"), D("0.00"), D("50.00"))


def test_lump_sum_share_is_tower_borne_and_others_do_not_pay_more():
    ts = [t(1), t(2, mode="LUMP_SUM")]
    a = allocate(bill("100.00"), [site(*ts)], f13)
    lines = by_key(a)
    assert lines[1].cost_share == D("50.00")
    assert (lines[2].share, lines[2].cost_share, lines[2].receivable) == (
        D("0.000000"), D("0.00"), D("0.00"))
    assert lines[2].trace["to_tower_borne"] == "1/2"
    assert tower(a).cost_share == D("50.00")
    assert tower(a).trace["tower_borne"] == [["lump_sum", "1/2"]]


def test_lump_sum_monthly_line_is_prorated_by_active_days():
    lump = t(1, start=date(2024, 5, 17), mode="LUMP_SUM")
    assert lump_sum_line(lump, D("310.00"), MAY1, MAY31)[:2] == (D("150.00"), 15)
    amount, days, trace = lump_sum_line(t(1, end=date(2024, 5, 10)), D("100.00"), MAY1, MAY31)
    assert (amount, days) == (D("32.26"), 10)  # 100 × 10/31 = 32.258… half-up
    assert trace["text_en"] and trace["text_zh"] and json.dumps(trace)
    assert lump_sum_line(t(1, start=date(2024, 6, 1)), D("100.00"), MAY1, MAY31)[:2] == (
        D("0.00"), 0)
    with pytest.raises(ValueError):
        lump_sum_line(t(1), D("100.00"), MAY31, MAY1)


def test_splits_not_summing_to_100_are_renormalised_and_flagged():
    a = allocate(bill("100.00"), [site(t(1), code="S1", split="30"),
                                  site(t(2), code="S2", split="30")], f13)
    assert costs(a) == {1: D("50.00"), 2: D("50.00")}
    assert codes(a) == [("S1", "SPLIT")]


def test_duplicate_rules_on_one_date_are_flagged_and_resolved_whatever_their_order():
    ts = [t(1, dc_current_a=D(30)), t(2, dc_current_a=D(10))]
    rules = [rule("DC_CURRENT"), rule("EQUAL")]
    a = allocate(bill("100.00"), [site(*ts, rules=rules)], f13)
    b = allocate(bill("100.00"), [site(*ts, rules=rules[::-1])], f13)
    assert costs(a) == costs(b) == {1: D("50.00"), 2: D("50.00")}
    assert codes(a) == [("S1", "DUPLICATE_RULE")]
    unused = [rule("EQUAL"), rule("DC_CURRENT", since=date(2025, 1, 1)),
              rule("EQUAL", since=date(2025, 1, 1))]
    assert allocate(bill("100.00"), [site(*ts, rules=unused)], f13).flags == ()


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        allocate(bill(start=MAY31, end=MAY1), [site(t(1))], f13)
    with pytest.raises(ValueError):
        allocate(bill("-1.00"), [site(t(1))], f13)
    with pytest.raises(ValueError):
        allocate(bill(), [], f13)
    with pytest.raises(ValueError):
        allocate(bill(), [site(t(1), code="S1", split="50"), site(t(1), code="S2", split="50")],
                 f13)
    with pytest.raises(ValueError):
        allocate(bill(), [site(t(1, mode="BARTER"))], f13)
    with pytest.raises(ValueError):
        allocate(bill("1.005"), [site(t(1))], f13)


def test_trace_is_json_and_explains_itself_in_both_languages():
    ts = three_operators(dc_current_a=[D(40), D(25), D(15)])
    a = allocate(bill(), [site(*ts, rules=[rule("DC_CURRENT", tower_share=D(5))])], f13)
    for ln in a.lines:
        text = json.dumps(ln.trace, ensure_ascii=False)
        assert "float" not in text and ln.trace["text_zh"] and ln.trace["text_en"]
        assert ln.trace["period"] == ["2024-05-01", "2024-05-31"] and ln.trace["days"] == 31
        assert ln.trace["cost_share"] == str(ln.cost_share)
    cmcc = by_key(a)[1].trace
    assert cmcc["runs"][0]["weights"] == [["T1", "40"], ["T2", "25"], ["T3", "15"]]
    assert "直流负载电流" in cmcc["text_zh"] and "DC_CURRENT" in cmcc["text_en"]
    assert "税负因子0.1300" in cmcc["text_zh"]
    assert "铁塔自用负荷" in tower(a).trace["text_zh"]


# ---- properties --------------------------------------------------------------------------

BASE = date(2024, 1, 1)
METHODS = ["FIXED_RATIO", "EQUAL", "DC_CURRENT", "RATED_POWER", "SUBMETER"]
maybe_input = st.one_of(st.none(), st.just(D(0)), st.just(D(-1)),
                        st.integers(1, 5000).map(lambda n: D(n).scaleb(-1)))


@st.composite
def tenancy_st(draw, key):
    start = BASE + timedelta(draw(st.integers(-40, 120)))
    end = draw(st.one_of(st.none(), st.integers(-5, 120).map(lambda n: start + timedelta(n))))
    return TenancyIn(key, f"T{key}", draw(st.sampled_from(["CMCC", "CUCC", "CTCC", "CBN"])),
                     start, end, draw(st.sampled_from(["RESALE", "ON_BEHALF", "LUMP_SUM"])),
                     draw(maybe_input), draw(maybe_input), draw(maybe_input), draw(maybe_input))


rule_st = st.builds(
    RuleIn, st.integers(-60, 120).map(lambda n: BASE + timedelta(n)), st.sampled_from(METHODS),
    st.sampled_from(METHODS), st.sampled_from(["PRO_RATA", "EQUAL", "TOWER_BEARS"]),
    st.sampled_from([D(0), D(0), D(5), D("12.5"), D(100)]))


@st.composite
def case_st(draw):
    n_sites = draw(st.integers(1, 3))
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=n_sites - 1,
                                max_size=n_sites - 1)))
    splits = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    keys = draw(st.permutations(range(1, 13)))
    sites, used = [], 0
    for i, split in enumerate(splits):
        n = draw(st.integers(0, 4))
        ts = tuple(draw(tenancy_st(k)) for k in keys[used:used + n])
        used += n
        sites.append(SiteIn(f"S{i}", D(split), ts, tuple(draw(st.lists(rule_st, max_size=3)))))
    start = BASE + timedelta(draw(st.integers(0, 60)))
    b = BillIn("B", D(draw(st.integers(0, 10**8))).scaleb(-2),
               draw(st.one_of(st.none(), st.integers(0, 10**6).map(lambda n: D(n).scaleb(-2)))),
               start, start + timedelta(draw(st.integers(0, 70))))
    return b, sites


def factor_of(op):
    return {"CMCC": D("0.13"), "CUCC": D("0.0971"), "CTCC": D(0), "CBN": D("0.0367")}[op]


@settings(max_examples=300, deadline=None)
@given(case_st())
def test_cost_shares_sum_exactly_and_nothing_is_negative(case):
    b, sites = case
    a = allocate(b, sites, factor_of)
    assert sum(ln.cost_share for ln in a.lines) == b.amount
    for ln in a.lines:
        assert ln.share >= 0 and ln.cost_share >= 0 and ln.receivable >= 0
        assert ln.tax_amount >= 0
        assert ln.cost_share == ln.cost_share.quantize(D("0.01"))
        if ln.mode == "RESALE":
            assert ln.receivable == ln.cost_share + ln.tax_amount >= ln.cost_share
        elif ln.mode == "ON_BEHALF":
            assert ln.receivable == ln.cost_share and ln.tax_amount == 0
        else:
            assert ln.receivable == 0
        json.dumps(ln.trace)
    assert [ln.site_code for ln in a.lines if ln.tenancy_key is None] == [
        s.site_code for s in sites]


@settings(max_examples=300, deadline=None)
@given(case_st())
def test_inactive_tenancies_get_no_line_and_each_site_sums_to_one(case):
    b, sites = case
    a = allocate(b, sites, factor_of)
    keys = set(by_key(a))
    for s in sites:
        for ten in s.tenancies:
            active = ten.start <= b.end and (ten.end is None or ten.end >= b.start) and (
                ten.end is None or ten.end >= ten.start)
            assert (ten.key in keys) == active
        w = _share_site(b, s, Fraction(s.split_ratio) / 100)
        assert all(p.share >= 0 for p in w.parts)
        assert all(x >= 0 for x in w.tower.values())
        lump = sum((p.share for p in w.parts if p.t.mode == "LUMP_SUM"), Fraction(0))
        assert sum((p.share for p in w.parts), Fraction(0)) + w.tower_share() - lump == 1


@settings(max_examples=200, deadline=None)
@given(case_st(), st.randoms(use_true_random=False))
def test_input_order_does_not_change_any_tenancys_amounts(case, rnd):
    b, sites = case
    shuffled = []
    for s in sites:
        ts, rs = list(s.tenancies), list(s.rules)
        rnd.shuffle(ts)
        rnd.shuffle(rs)
        shuffled.append(SiteIn(s.site_code, s.split_ratio, tuple(ts), tuple(rs)))
    rnd.shuffle(shuffled)

    def amounts(alloc):
        return {k: (ln.share, ln.cost_share, ln.tax_amount, ln.receivable)
                for k, ln in by_key(alloc).items()}

    a, z = allocate(b, sites, factor_of), allocate(b, shuffled, factor_of)
    assert amounts(a) == amounts(z)
    assert sorted(a.flags) == sorted(z.flags)


@given(case_st())
def test_each_sites_lines_sum_to_its_part_of_the_advance(case):
    """The payment posts each site's advance as largest_remainder over the splits (sites by
    code); the allocation of that site must use exactly that amount, so the site's advance
    clears to zero."""
    b, sites = case
    a = allocate(b, sites, factor_of)
    advance = largest_remainder(b.amount, [(s.site_code, Fraction(s.split_ratio))
                                           for s in sorted(sites, key=lambda s: s.site_code)])
    for s in sites:
        assert sum(ln.cost_share for ln in a.lines if ln.site_code == s.site_code) \
            == advance[s.site_code]


# ---- dated ratios and business-code ties (issue 12) --------------------------------------


@st.composite
def ratios_st(draw, start):
    dates = sorted(set(draw(st.lists(st.integers(0, 150), max_size=3))))
    return tuple((start + timedelta(n), D(draw(st.integers(0, 100)))) for n in dates)


@settings(max_examples=200, deadline=None)
@given(case_st(), st.randoms(use_true_random=False), st.data())
def test_the_same_tenancies_with_other_database_ids_in_any_order_give_identical_lines(
        case, rnd, data):
    """Imported in another order, the same tenancies get other database ids: the lines
    (by tenancy code) must not change — ties go by tenancy code, never the id."""
    b, sites = case
    sites = [SiteIn(s.site_code, s.split_ratio, tuple(
        TenancyIn(**{**ten.__dict__, "ratios": data.draw(ratios_st(ten.start))})
        for ten in s.tenancies), s.rules) for s in sites]
    keys = [ten.key for s in sites for ten in s.tenancies]
    new_key = dict(zip(keys, rnd.sample(keys, len(keys)), strict=True))
    moved = []
    for s in sites:
        ts = [TenancyIn(**{**ten.__dict__, "key": new_key[ten.key]}) for ten in s.tenancies]
        rnd.shuffle(ts)
        moved.append(SiteIn(s.site_code, s.split_ratio, tuple(ts), s.rules))
    rnd.shuffle(moved)

    def lines(alloc):
        return {(ln.site_code, ln.tenancy_id): (ln.share, ln.cost_share, ln.tax_amount,
                                                ln.receivable, json.dumps(ln.trace))
                for ln in alloc.lines}

    a, z = allocate(b, sites, factor_of), allocate(b, moved, factor_of)
    assert lines(a) == lines(z)
    assert sorted(a.flags) == sorted(z.flags)


def test_the_odd_fen_goes_to_the_lower_tenancy_code_not_the_lower_key():
    ts = [t(1, op="CUCC"), t(2, op="CMCC"), t(3, op="CTCC")]
    ts = [TenancyIn(**{**x.__dict__, "tenancy_id": code}) for x, code in
          zip(ts, ["T-C", "T-B", "T-A"], strict=True)]
    a = allocate(bill("100.00"), [site(*ts, rules=[rule("EQUAL")])], f13)
    assert {ln.tenancy_id: ln.cost_share for ln in a.lines if ln.tenancy_id} == {
        "T-A": D("33.34"), "T-B": D("33.33"), "T-C": D("33.33")}


def test_a_dated_ratio_cuts_the_run_and_a_sum_off_100_is_flagged():
    ts = [t(1, ratios=((LONG_AGO, D(60)), (date(2024, 5, 11), D(70)))),
          t(2, ratios=((LONG_AGO, D(40)), (date(2024, 5, 11), D(20))))]
    a = allocate(bill("1000.00"), [site(*ts, rules=[rule("FIXED_RATIO")])], f13)
    # days 1–10 60/40; days 11–31 70/20 = 90, renormalised to 7/9 and 2/9
    exact1 = Fraction(10, 31) * Fraction(3, 5) + Fraction(21, 31) * Fraction(7, 9)
    assert by_key(a)[1].trace["exact_share"] == str(exact1)
    assert [r["days"] for r in by_key(a)[1].trace["daily_shares"]] == [10, 21]
    assert codes(a) == [("S1", "RATIO_SUM")]
    assert "90%" in a.flags[0][2] and "2024-05-11..2024-05-31" in a.flags[0][2]


def test_no_ratio_in_force_yet_is_missing_input_and_falls_back():
    ts = [t(1, ratios=((date(2024, 5, 20), D(50)),)), t(2, ratios=((LONG_AGO, D(50)),))]
    a = allocate(bill("100.00"), [site(*ts, rules=[rule("FIXED_RATIO")])], f13)
    assert costs(a) == {1: D("50.00"), 2: D("50.00")}
    assert codes(a) == [("S1", "FALLBACK")] and "T1" in a.flags[0][2]
