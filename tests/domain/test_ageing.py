"""Ageing buckets (账龄): every age falls in exactly one bucket, the one whose bounds hold it."""

from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain.ageing import BOUNDS, bucket


def test_the_bounds_of_domain_section_6():
    assert [bucket(d) for d in (0, 30, 31, 60, 61, 90, 91, 180, 181, 365, 366, 5000)] == [
        0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert bucket(-2) == 0   # a push dated after the as-of day counts as the newest


@given(st.integers(min_value=0, max_value=100_000))
def test_every_age_lands_in_the_bucket_that_holds_it(days):
    lo, hi = BOUNDS[bucket(days)]
    assert lo <= days and (hi is None or days <= hi)
    assert sum(1 for lo, hi in BOUNDS if lo <= days and (hi is None or days <= hi)) == 1
