from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain.months import month_end, next_month


def test_year_end_and_leap_february():
    assert next_month(date(2024, 12, 31)) == date(2025, 1, 1)
    assert month_end(date(2024, 2, 10)) == date(2024, 2, 29)
    assert month_end(date(2023, 2, 1)) == date(2023, 2, 28)


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2999, 11, 30)))
def test_month_end_is_the_last_day_of_the_month(d):
    end = month_end(d)
    assert (end.year, end.month) == (d.year, d.month)
    assert (end + timedelta(days=1)).day == 1 == next_month(d).day
    assert next_month(d) == end + timedelta(days=1)
