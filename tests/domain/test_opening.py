"""The opening-balance rules (domain.opening): a legacy row's checks, the lines it becomes,
the month column, the reconciliation and a drive's progress."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain import opening

D = Decimal
TAKE_OVER = date(2024, 7, 1)


def row(**kw):
    base = dict(month=date(2024, 5, 1), pushed=D("900.00"), confirmed=D("900.00"),
                written_off=D("400.00"), outstanding=D("500.00"), push_date=date(2024, 5, 8),
                confirm_date=date(2024, 5, 15), write_off_date=date(2024, 6, 20))
    return opening.LegacyRow(**(base | kw))


def columns(r):
    return [c for c, _zh, _en in opening.check_row(r, TAKE_OVER)]


def test_a_good_row_has_no_problem_and_becomes_one_confirmed_line():
    r = row()
    assert opening.check_row(r, TAKE_OVER) == []
    assert opening.parts(r) == [opening.Part(D("900.00"), date(2024, 5, 15), D("400.00"))]


def test_a_partly_confirmed_row_becomes_a_confirmed_and_a_pending_line():
    r = row(pushed=D("300.00"), confirmed=D("200.00"), written_off=D("150.00"),
            outstanding=D("150.00"))
    assert opening.check_row(r, TAKE_OVER) == []
    assert opening.parts(r) == [opening.Part(D("200.00"), date(2024, 5, 15), D("150.00")),
                                opening.Part(D("100.00"), None, D("0.00"))]


def test_an_unconfirmed_row_is_one_pending_line():
    r = row(confirmed=D("0"), written_off=D("0"), outstanding=D("900.00"), confirm_date=None,
            write_off_date=None)
    assert opening.check_row(r, TAKE_OVER) == []
    assert opening.parts(r) == [opening.Part(D("900.00"), None, D("0.00"))]


@pytest.mark.parametrize("kw, column", [
    (dict(outstanding=D("400.00")), "outstanding"),                    # 900 ≠ 400 + 400
    (dict(pushed=D("0"), confirmed=D("0"), written_off=D("0"), outstanding=D("0"),
          confirm_date=None, write_off_date=None), "pushed"),
    (dict(confirmed=D("950.00")), "confirmed"),
    (dict(confirmed=D("300.00")), "written_off"),                      # 400 > 300
    (dict(confirm_date=None), "confirm_date"),
    (dict(write_off_date=None), "write_off_date"),
    (dict(push_date=date(2024, 4, 30)), "push_date"),                  # before its month
    (dict(confirm_date=date(2024, 5, 1)), "confirm_date"),             # before the push
    (dict(write_off_date=date(2024, 5, 10)), "write_off_date"),        # before confirmation
    (dict(write_off_date=date(2024, 7, 2)), "write_off_date"),         # after the take-over
])
def test_each_problem_names_its_column_in_both_languages(kw, column):
    problems = opening.check_row(row(**kw), TAKE_OVER)
    assert column in [c for c, *_ in problems]
    assert all(zh and en for _c, zh, en in problems)


def test_every_problem_of_a_row_at_once():
    r = row(outstanding=D("1.00"), confirmed=D("300.00"), write_off_date=None)
    assert set(columns(r)) == {"outstanding", "written_off", "write_off_date"}


@pytest.mark.parametrize("text", ["2023-03", "2023/3", "2023.03", "2023年3月", "202303",
                                  "2023-03-01", "2023年03月", "202303.0"])
def test_month_as_users_write_it(text):
    assert opening.parse_month(text) == date(2023, 3, 1)


def test_month_from_dates_and_refusals():
    assert opening.parse_month(date(2023, 3, 17)) == date(2023, 3, 1)
    assert opening.parse_month(datetime(2023, 3, 17, 8)) == date(2023, 3, 1)
    for bad in ("13/2024", "2024-13", "March", "", "1899-01"):
        with pytest.raises(ValueError):
            opening.parse_month(bad)


fen = st.integers(min_value=1, max_value=10**9).map(lambda n: D(n) / 100)


@given(pushed=fen, confirmed_share=st.fractions(0, 1), off_share=st.fractions(0, 1),
       lag=st.integers(0, 400))
def test_parts_sum_to_the_row_and_writes_off_fall_on_the_confirmed_part(
        pushed, confirmed_share, off_share, lag):
    confirmed = (pushed * D(confirmed_share.numerator) / D(confirmed_share.denominator)) \
        .quantize(D("0.01"))
    off = (confirmed * D(off_share.numerator) / D(off_share.denominator)).quantize(D("0.01"))
    push = date(2023, 1, 5)
    r = opening.LegacyRow(month=date(2023, 1, 1), pushed=pushed, confirmed=confirmed,
                          written_off=off, outstanding=pushed - off, push_date=push,
                          confirm_date=push + timedelta(days=lag) if confirmed else None,
                          write_off_date=push + timedelta(days=lag) if off else None)
    assert opening.check_row(r, date(2025, 1, 1)) == []
    parts = opening.parts(r)
    assert sum((p.amount for p in parts), D(0)) == pushed
    assert sum((p.written_off for p in parts), D(0)) == off
    assert all(p.written_off <= p.amount for p in parts)
    assert all(p.amount > 0 for p in parts)
    assert [p.confirmed_on is None for p in parts] == sorted(p.confirmed_on is None
                                                             for p in parts)


@given(pushed=fen, off=fen)
def test_pushed_must_equal_written_off_plus_outstanding(pushed, off):
    r = row(pushed=pushed, confirmed=pushed, written_off=min(off, pushed),
            outstanding=pushed - min(off, pushed) + D("0.01"))
    assert "outstanding" in columns(r)


def test_reconciliation_ties_to_the_fen_and_names_differences():
    legacy = {("郑州市", "CMCC"): opening.Totals().add(rows=2, pushed=D("100.00"),
                                                      outstanding=D("60.00")),
              ("洛阳市", "CUCC"): opening.Totals().add(rows=1, pushed=D("5.00"))}
    imported = {("郑州市", "CMCC"): opening.Totals().add(rows=2, pushed=D("100.00"),
                                                        outstanding=D("60.00")),
                ("洛阳市", "CUCC"): opening.Totals().add(rows=1, pushed=D("4.99"))}
    ties = opening.compare(legacy, imported)
    assert [t.ties for t in ties] == [False, True]      # 洛阳市 sorts first
    assert ties[0].differences["pushed"] == D("-0.01")
    grand = opening.total(ties)
    assert not grand.ties and grand.legacy.pushed == D("105.00") and grand.legacy.rows == 3
    only = opening.compare({("a", "b"): opening.Totals().add(unapplied=D("1.00"))}, {})
    assert only[0].differences["unapplied"] == D("-1.00")


def test_drive_progress_by_amount_or_rate():
    p = opening.progress(D("2600.00"), D("2450.00"), target_rate=D("0.5"))
    assert (p.goal, p.collected, p.rate, p.to_go) == (D("1300.00"), D("150.00"), D("0.1154"),
                                                      D("1150.00"))
    p = opening.progress(D("2600.00"), D("1000.00"), target_amount=D("1500"))
    assert (p.goal, p.collected, p.rate, p.to_go) == (D("1500.00"), D("1600.00"), D("1.0667"),
                                                      D("0.00"))
    assert opening.progress(D("0"), D("0")).rate is None


@given(base=fen, paid=st.fractions(0, 1), rate=st.fractions(0, 1).filter(lambda f: f > 0))
def test_progress_is_collected_over_goal(base, paid, rate):
    left = (base * (1 - D(paid.numerator) / D(paid.denominator))).quantize(D("0.01"))
    r = (D(rate.numerator) / D(rate.denominator)).quantize(D("0.0001"))
    p = opening.progress(base, left, target_rate=r)
    assert p.collected == base - left
    assert p.collected + p.to_go >= p.goal
    if p.goal:
        assert abs(p.rate - p.collected / p.goal) <= D("0.00005")
