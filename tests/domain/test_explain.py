"""Explanations stored as numbers and rendered when read (domain.explain): splitting a
whole trace into what is stored and expanding it again loses nothing, the sentences are the
same in both languages, and the stored parts are a fraction of the whole."""

import json
from decimal import Decimal

from hypothesis import given, settings

from tests.domain.test_allocation import bill, case_st, factor_of, rule, site, t
from towerledger.domain import explain
from towerledger.domain.allocation import allocate

D = Decimal


def figures(trace: dict) -> dict:
    return {k: trace[k] for k in explain.FIGURES}


def roundtrip(alloc) -> None:
    for ln in alloc.lines:
        site_part, line_part = explain.split(ln.trace)
        assert explain.expand(site_part, line_part, figures(ln.trace)) == ln.trace
        assert "text_zh" not in line_part and "text_zh" not in site_part
        assert line_part["v"] == explain.VERSION


@settings(max_examples=300, deadline=None)
@given(case_st())
def test_split_and_expand_lose_nothing(case):
    b, sites = case
    roundtrip(allocate(b, sites, factor_of))


def test_numbers_only_traces_expand_to_the_explained_ones():
    """The bulk path allocates without sentences (explain=False); what it stores expands to
    exactly the trace the explained allocation gives."""
    b = bill()
    s = site(t(1, "CMCC", dc_current_a=D(40)), t(2, "CUCC", dc_current_a=D(25)),
             t(3, "CTCC", dc_current_a=D(15), mode="ON_BEHALF"),
             rules=[rule("DC_CURRENT", tower_share=D(5))])
    said, bare = allocate(b, [s], factor_of), allocate(b, [s], factor_of, explain=False)
    for full, numbers in zip(said.lines, bare.lines, strict=True):
        assert "text_zh" not in numbers.trace and "rounding" not in numbers.trace
        assert explain.expand(*explain.split(numbers.trace), figures(full.trace)) == full.trace


def test_the_worked_example_reads_the_same_in_both_languages():
    s = site(t(1, "CMCC", dc_current_a=D(40)), t(2, "CUCC", dc_current_a=D(25)),
             t(3, "CTCC", dc_current_a=D(15)), rules=[rule("DC_CURRENT")])
    cmcc = allocate(bill(), [s], factor_of).lines[0].trace
    en, zh = explain.render(cmcc)
    assert (en, zh) == (cmcc["text_en"], cmcc["text_zh"])
    assert zh.startswith("缴费单B1：2024-05-01至2024-05-31，共31天，金额4752.00元；站址S1分摊比例100%")
    assert "CMCC租户T1在网31/31天" in zh and "每天分得50.0000%" in zh
    assert "精确金额2376.000000元，按最大余额法舍入为2376.00元" in zh
    assert en.startswith("Bill B1, 2024-05-01 to 2024-05-31 (31 days), 4752.00 yuan")


def test_what_is_stored_is_a_fraction_of_the_whole():
    """Four operators on a site with a day-run change: the line parts plus the site part
    once are well under a quarter of the whole traces."""
    s = site(t(1, "CMCC"), t(2, "CUCC"), t(3, "CTCC"), t(4, "CBN"),
             rules=[rule("EQUAL", tower_share=D(5))])
    a = allocate(bill(), [s], factor_of)
    whole = sum(len(json.dumps(ln.trace, ensure_ascii=False).encode()) for ln in a.lines)
    parts = [explain.split(ln.trace) for ln in a.lines]
    stored = len(json.dumps(parts[0][0], ensure_ascii=False).encode()) + sum(
        len(json.dumps(line, ensure_ascii=False).encode()) for _, line in parts)
    assert whole >= 4 * stored, (whole, stored)
