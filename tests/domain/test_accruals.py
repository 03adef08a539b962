"""暂估 and 总账凭证: the pure rules (domain.accruals, domain.vouchers)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from towerledger.domain.accruals import (
    BillPeriod,
    estimate,
    months_back,
    split,
    uncovered_days,
)
from towerledger.domain.vouchers import (
    JournalRow,
    Unmapped,
    build,
    default_mapping,
    totals_by_account,
)

D = Decimal
JUNE = date(2024, 6, 1)


def b(start, end, kwh, price="0.62", amount="0"):
    return BillPeriod(start, end, None if kwh is None else D(kwh),
                      None if price is None else D(price), D(amount))


# the worked example of docs/programs/accruals.md
WORKED = [b(date(2024, 3, 1), date(2024, 3, 31), "3100", "0.60"),
          b(date(2024, 4, 1), date(2024, 4, 30), "2700"),
          b(date(2024, 5, 1), date(2024, 5, 31), "3100"),
          b(date(2024, 6, 1), date(2024, 6, 10), "1050", "0.65")]


def test_worked_example_to_the_fen():
    e = estimate(WORKED, JUNE)
    assert (e.days_uncovered, e.first_uncovered, e.basis_from, e.basis_to, e.basis_days) == (
        20, date(2024, 6, 11), date(2024, 3, 11), date(2024, 6, 10), 92)
    # 8950 kWh / 92 days × 20 days × 0.65 = 1264.6739… → 1264.67
    assert (e.use_per_day, e.unit_price, e.amount) == (D("97.2826"), D("0.6500"), D("1264.67"))
    assert split(e.amount, [("ZZ002", D("70")), ("ZZ003", D("30"))]) == {
        "ZZ002": D("885.27"), "ZZ003": D("379.40")}


def test_covered_month_is_zero_and_overlaps_count_once():
    bills = [b(date(2024, 6, 1), date(2024, 6, 20), "100"),
             b(date(2024, 6, 15), date(2024, 6, 30), "100")]
    assert estimate(bills, JUNE).amount == 0 and estimate(bills, JUNE).covered
    # a duplicate of a bill covers nothing more: the 10 days after it stay uncovered
    dup = [b(date(2024, 5, 1), date(2024, 6, 20), "510"), b(date(2024, 5, 1), date(2024, 6, 20), "510")]
    assert uncovered_days(dup, JUNE, date(2024, 6, 30)) == [
        date(2024, 6, d) for d in range(21, 31)]
    # the same use per day as one of them alone: 10 kWh/day × 10 days × 0.62
    assert estimate(dup, JUNE).amount == D("62.00")


def test_no_basis_no_estimate_and_money_basis_for_lump_sum_supply():
    assert estimate([], JUNE).amount == 0 and estimate([], JUNE).days_uncovered == 30
    lump = [b(date(2024, 3, 1), date(2024, 5, 31), None, None, "920.00")]   # 92 days
    e = estimate(lump, JUNE)
    assert e.by_money and (e.use_per_day, e.amount) == (D("10.0000"), D("300.00"))


def test_until_cuts_the_month_and_months_back_clamps():
    e = estimate(WORKED, JUNE, until=date(2024, 6, 20))
    assert e.days_uncovered == 10
    assert months_back(date(2024, 5, 31), 3) == date(2024, 2, 29)
    assert months_back(date(2024, 1, 15), 3) == date(2023, 10, 15)


days = st.integers(min_value=0, max_value=200)
bills = st.lists(st.tuples(days, st.integers(min_value=0, max_value=60),
                           st.one_of(st.none(), st.integers(min_value=-50, max_value=99999)),
                           st.integers(min_value=-100, max_value=30000)), max_size=6)
BASE = date(2024, 1, 1)


def periods(raw):
    return [BillPeriod(BASE + timedelta(days=s), BASE + timedelta(days=s + n),
                       None if k is None else D(k), D(p) / 10000, D("100.00")) for s, n, k, p in raw]


@settings(max_examples=150, deadline=None)
@given(bills, st.integers(min_value=1, max_value=8))
def test_never_negative_zero_when_covered_and_union_of_periods(raw, m):
    month = date(2024, m, 1)
    ps = periods(raw)
    e = estimate(ps, month)
    assert e.amount >= 0 and e.use_per_day >= 0
    assert e.amount == e.amount.quantize(D("0.01"))
    last = (month.replace(month=m + 1) - timedelta(days=1))
    gaps = uncovered_days(ps, month, last)
    covered = {p.start + timedelta(days=i) for p in ps for i in range(p.days)}
    assert gaps == [d for d in (month + timedelta(days=i) for i in range((last - month).days + 1))
                    if d not in covered]
    assert e.days_uncovered == len(gaps)
    if not gaps:
        assert e.amount == 0 and e.covered
    # adding a bill that covers the whole month makes it zero
    whole = BillPeriod(month, last, D("1"), D("1"), D("1"))
    assert estimate([*ps, whole], month).amount == 0


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=10**8),
       st.lists(st.integers(min_value=1, max_value=100), min_size=1, max_size=5))
def test_split_sums_exactly(cents, ratios):
    amount = D(cents) / 100
    parts = split(amount, [(f"S{i}", D(r)) for i, r in enumerate(ratios)])
    assert sum(parts.values()) == amount and all(v >= 0 for v in parts.values())


# ---- vouchers ------------------------------------------------------------------------------

def rows():
    d = date(2024, 6, 30)
    return [JournalRow(d, "ACCRUAL", "ACCRUAL_COST", "郑州市", "ZZ002", "", D("885.27")),
            JournalRow(d, "ACCRUAL", "ACCRUAL_COST", "郑州市", "ZZ003", "", D("379.40")),
            JournalRow(d, "ACCRUAL", "ACCRUED", "郑州市", "ZZ002", "", credit=D("885.27")),
            JournalRow(d, "ACCRUAL", "ACCRUED", "郑州市", "ZZ003", "", credit=D("379.40")),
            JournalRow(date(2024, 6, 5), "PAYMENT", "ADVANCE", "郑州市", "ZZ002", "", D("10.00")),
            JournalRow(date(2024, 6, 5), "PAYMENT", "CASH", "", "", "", credit=D("10.00"))]


def test_vouchers_group_by_date_and_kind_keep_dims_and_balance():
    mapping = default_mapping()
    mapping["ACCRUAL_COST"] = mapping["ACCRUAL_COST"].__class__("6401.04", "暂估电费", ("city",))
    vs = build(rows(), mapping)
    assert [(v.number, v.date, v.kind) for v in vs] == [
        ("记-0001", date(2024, 6, 5), "PAYMENT"), ("记-0002", date(2024, 6, 30), "ACCRUAL")]
    accrual = vs[1]
    assert accrual.debit == accrual.credit == D("1264.67")
    # ACCRUAL_COST keeps only the city: its two sites become one line
    assert [(ln.code, ln.city, ln.site, ln.debit, ln.credit) for ln in accrual.lines] == [
        ("6401.04", "郑州市", "", D("1264.67"), D("0")),
        ("2202.01", "郑州市", "ZZ002", D("0"), D("885.27")),
        ("2202.01", "郑州市", "ZZ003", D("0"), D("379.40"))]
    assert totals_by_account(vs)["ACCRUED"] == (D("0"), D("1264.67"))


def test_unmapped_accounts_are_refused_by_name():
    mapping = default_mapping()
    del mapping["ACCRUED"]
    mapping["CASH"] = mapping["CASH"].__class__("", "", ())
    with pytest.raises(Unmapped) as err:
        build(rows(), mapping)
    assert err.value.accounts == ["ACCRUED", "CASH"]
    assert "ACCRUED, CASH" in err.value.zh and "ACCRUED, CASH" in err.value.en


ACCOUNTS = st.sampled_from(["CASH", "ADVANCE", "RECEIVABLE", "TOWER_COST", "ACCRUED"])
DIMS_ = st.sampled_from(["", "郑州市", "洛阳市"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=1, max_value=3), st.sampled_from(["A", "B"]),
                          ACCOUNTS, ACCOUNTS, DIMS_, DIMS_, st.integers(min_value=1, max_value=10**7)),
                min_size=1, max_size=20))
def test_vouchers_of_balanced_entries_balance_and_keep_account_totals(entries):
    rows, expected = [], {}
    for day, kind, dr, cr, c1, c2, cents in entries:
        amount = D(cents) / 100
        d = date(2024, 6, day)
        rows += [JournalRow(d, kind, dr, c1, "S1" if c1 else "", "", amount),
                 JournalRow(d, kind, cr, c2, "", "CMCC", credit=amount)]
        expected.setdefault(dr, [D(0), D(0)])[0] += amount
        expected.setdefault(cr, [D(0), D(0)])[1] += amount
    vs = build(rows, default_mapping())
    assert all(v.debit == v.credit for v in vs)
    assert {a: list(t) for a, t in totals_by_account(vs).items()} == expected
    assert len(vs) == len({(day, kind) for day, kind, *_ in entries})
