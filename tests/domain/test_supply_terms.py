"""Dated supply terms (DOMAIN.md §7 转改直: "DIRECT from that date, dated master data"): the
terms on day D are the latest dated row on or before D; before the first, the original."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain.supply_terms import DatedTerms, History, Terms, bill_day, terms_on

RESUPPLY = Terms("RESUPPLY", "LANDLORD", "GENERAL", Decimal("1.1000"))
DIRECT = Terms("DIRECT", "GRID", "SPECIAL_13", Decimal("0.6500"))
CONVERTED = date(2025, 3, 16)       # done 2025-03-15: direct from the next day


def test_a_conversion_splits_the_accounts_bills_by_their_period_end():
    history = [DatedTerms(CONVERTED, DIRECT)]
    feb = bill_day(date(2025, 2, 1), date(2025, 2, 28))
    apr = bill_day(date(2025, 4, 1), date(2025, 4, 30))
    assert terms_on(RESUPPLY, history, feb) == RESUPPLY      # a late February bill
    assert terms_on(RESUPPLY, history, apr) == DIRECT
    assert terms_on(RESUPPLY, history, date(2025, 3, 15)) == RESUPPLY   # the landlord's last
    assert terms_on(RESUPPLY, history, CONVERTED) == DIRECT
    # March spans the change: judged on its period end, like the tax factor
    assert terms_on(RESUPPLY, history, bill_day(date(2025, 3, 1), date(2025, 3, 31))) == DIRECT
    assert terms_on(RESUPPLY, [], apr) == RESUPPLY           # never changed: the original


def test_the_terms_in_force_over_a_period():
    h = History(RESUPPLY, [DatedTerms(CONVERTED, DIRECT)])
    assert h.between(date(2025, 1, 1), date(2025, 12, 31)) == [RESUPPLY, DIRECT]
    assert h.between(date(2025, 4, 1), date(2025, 12, 31)) == [DIRECT]
    assert h.between(date(2025, 1, 1), date(2025, 3, 15)) == [RESUPPLY]


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
modes = st.builds(Terms, st.sampled_from(["DIRECT", "RESUPPLY"]),
                  st.sampled_from(["GRID", "LANDLORD"]),
                  st.sampled_from(["SPECIAL_13", "GENERAL"]),
                  st.none() | st.decimals("0.1", "3", places=4))


@given(original=modes, rows=st.dictionaries(days, modes, max_size=6), day=days)
def test_the_latest_row_on_or_before_the_day_in_any_order(original, rows, day):
    dated = [DatedTerms(d, t) for d, t in rows.items()]
    expected = original
    for d in sorted(rows):
        if d <= day:
            expected = rows[d]
    assert terms_on(original, dated, day) == expected
    assert terms_on(original, list(reversed(dated)), day) == expected
    # the day before the first row is the original; each row's own day is that row
    if rows:
        first = min(rows)
        assert terms_on(original, dated, first - timedelta(days=1)) == original
        assert terms_on(original, dated, first) == rows[first]
