"""The data-quality rules (domain.quality): unit examples and hypothesis properties."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain import quality as dq

D = Decimal


def test_numbers_are_trimmed_and_folded():
    assert dq.normalise_no(" ａ－１００ ") == "A-100"
    assert dq.normalise_no("a-100") == dq.normalise_no("A-100") == "A-100"
    assert dq.normalise_no("A 100") == "A100"
    assert dq.duplicate_groups([(1, "A-100"), (2, "ａ－１００"), (3, "A-200")]) == {
        "A-100": [1, 2]}


def test_splits_off_100():
    assert dq.splits_off([(1, D(70)), (1, D(30)), (2, D(90)), (3, D("33.333333")),
                          (3, D("33.333333")), (3, D("33.333334"))]) == {2: D(90)}


def test_overlapping_tenancies():
    d = date
    rows = [("a", 1, "CMCC", d(2024, 1, 1), None), ("b", 1, "CMCC", d(2024, 6, 1), None),
            ("c", 1, "CUCC", d(2024, 1, 1), None),                      # other operator
            ("d", 2, "CMCC", d(2024, 1, 1), d(2024, 5, 31)),
            ("e", 2, "CMCC", d(2024, 6, 1), None),                      # back to back
            ("f", 3, "CMCC", d(2024, 1, 1), d(2024, 6, 1)),
            ("g", 3, "CMCC", d(2024, 6, 1), None)]                      # one shared day
    assert dq.overlapping(rows) == {"a", "b", "f", "g"}


def test_silent_and_price_deviation():
    as_of = date(2024, 6, 30)
    assert dq.months_back(date(2024, 5, 31), 3) == date(2024, 2, 29)
    assert dq.silent(None, as_of)
    assert dq.silent(date(2024, 3, 30), as_of) and not dq.silent(date(2024, 3, 31), as_of)
    assert not dq.silent(date(2024, 1, 31), as_of, cycle_months=6)
    history = [D("1.10")] * 4
    assert dq.price_deviation(D("1.50"), history) == D("36.4")
    assert dq.price_deviation(D("1.40"), history) is None          # 27.3 %
    assert dq.price_deviation(D("1.50"), history[:2]) is None      # too little history
    # the median of the last 6 only: old prices do not count
    assert dq.price_deviation(D("0.60"), [D("1.0")] * 10 + [D("0.60")] * 6) is None


def test_rates_and_scorecard():
    assert dq.rate(2, 3) == D("66.67") and dq.rate(0, 0) == D("0.00")
    card = {s.rule: (s.count, s.total, s.rate) for s in dq.scorecard(
        {"SITE_NO_COORDS": {1, 2}}, {"sites": 8})}
    assert card["SITE_NO_COORDS"] == (2, 8, D("25.00"))
    assert card["PRICE_DEVIATION"] == (0, 0, D("0.00"))
    assert list(card) == list(dq.RULES)


dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 12, 31))


@given(st.lists(st.tuples(st.integers(1, 3), st.sampled_from("XY"), dates,
                          st.none() | st.integers(0, 400)), max_size=12))
def test_overlapping_matches_the_pairwise_definition(raw):
    rows = [(i, site, op, start, None if n is None else start + timedelta(days=n))
            for i, (site, op, start, n) in enumerate(raw)]

    def meets(a, b):
        return (a[1], a[2]) == (b[1], b[2]) and a[3] <= (b[4] or date.max) \
            and b[3] <= (a[4] or date.max)
    expected = {a[0] for a in rows for b in rows if a[0] != b[0] and meets(a, b)}
    assert dq.overlapping(rows) == expected


@given(st.lists(st.sampled_from(["A-1", "a-1", "Ａ－１", " A-1 ", "B-2", "b-2", "C-3"]),
                max_size=8))
def test_duplicate_groups_partition_the_folded_numbers(numbers):
    groups = dq.duplicate_groups(enumerate(numbers))
    flagged = [k for keys in groups.values() for k in keys]
    assert len(flagged) == len(set(flagged))
    for k, n in enumerate(numbers):
        same = sum(dq.normalise_no(m) == dq.normalise_no(n) for m in numbers)
        assert (k in flagged) == (same > 1)


@given(st.integers(0, 1000), st.integers(0, 1000))
def test_rate_is_a_bounded_percentage(count, extra):
    r = dq.rate(count, count + extra)
    assert D(0) <= r <= D(100) and r == r.quantize(D("0.01"))
