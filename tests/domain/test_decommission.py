"""The decommissioning checklist (domain.decommission): what is open and why."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from towerledger.domain import decommission as dom

DAY = date(2024, 6, 15)


def done_facts(**kw) -> dom.CaseFacts:
    base = dict(
        tenancies=(dom.TenancyFact("T1", "CMCC", date(2024, 1, 1), DAY),),
        accounts=(dom.AccountFact("A-1", Decimal("100"), DAY, DAY),))
    return dom.CaseFacts("S1", DAY, **{**base, **kw})


def test_everything_done_may_archive():
    f = done_facts()
    steps = dom.checklist(f)
    assert [s.code for s in steps] == list(dom.STEPS)
    assert all(s.done for s in steps[:-1]) and not steps[-1].done
    assert steps[-1].open == (("可以归档", "ready to archive"),)
    assert dom.may_archive(f)
    assert all(s.done for s in dom.checklist(done_facts(archived=True)))


def test_each_open_item_says_why():
    f = done_facts(
        tenancies=(dom.TenancyFact("T1", "CMCC", date(2024, 1, 1), None),
                   dom.TenancyFact("T2", "CUCC", date(2024, 1, 1), date(2024, 7, 1)),
                   dom.TenancyFact("T3", "CTCC", date(2024, 7, 1), None),
                   dom.TenancyFact("T4", "CBN", date(2024, 1, 1), date(2024, 6, 1))),
        accounts=(dom.AccountFact("A-1", None, None, date(2024, 5, 31), ("B-6",), ("B-5",)),
                  dom.AccountFact("A-2", None, DAY, DAY, lump_sum=True)),
        rent_due=(("场租未付", "rent unpaid"),), rent_open=("RC-1",))
    by = {s.code: [en for _, en in s.open] for s in dom.checklist(f)}
    assert by["TENANCIES"] == [
        "tenancy T1 (CMCC) not ended; it must end by 2024-06-15",
        "tenancy T2 (CUCC) ends 2024-07-01; it must end by 2024-06-15",
        "tenancy T3 (CTCC) starts 2024-07-01, after the decommission date 2024-06-15: "
        "withdraw it"]
    assert by["READINGS"] == ["account A-1 has no final meter reading"]   # A-2 is lump sum
    assert by["BILLS"] == [
        "bill B-6 of account A-1 is not paid",
        "bill B-5 of account A-1 is paid but not allocated",
        "account A-1: settled bills cover up to 2024-05-31 only; the final bill must cover "
        "up to 2024-06-15"]
    assert by["ACCOUNTS"] == ["account A-1 is not closed"]
    assert by["RENT"] == ["rent unpaid", "rent contract RC-1 is not terminated"]
    assert by["ARCHIVE"] == ["10 item(s) still open before the site can be archived"]
    assert len(dom.blockers(f)) == 10 and not dom.may_archive(f)
    assert all(zh and en for s in dom.checklist(f) for zh, en in s.open)


def test_no_bill_yet_is_open():
    f = done_facts(accounts=(dom.AccountFact("A-1", Decimal(1), DAY, None),))
    assert dom.bill_items(f) == [(
        "电表户号 A-1：尚无已结清的缴费单，最终缴费单须覆盖到 2024-06-15",
        "account A-1: no settled bill yet; the final bill must cover up to 2024-06-15")]


dates = st.dates(min_value=date(2023, 1, 1), max_value=date(2025, 12, 31))
tenancy = st.builds(dom.TenancyFact, st.text("T0123", min_size=1, max_size=3),
                    st.sampled_from(["CMCC", "CUCC"]), dates, st.none() | dates)
account = st.builds(dom.AccountFact, st.text("A0123", min_size=1, max_size=3),
                    st.none() | st.just(Decimal(5)), st.none() | dates, st.none() | dates,
                    st.lists(st.just("B"), max_size=1).map(tuple),
                    st.lists(st.just("C"), max_size=1).map(tuple), st.booleans())


@given(st.lists(tenancy, max_size=4), st.lists(account, max_size=3), dates)
def test_archive_only_when_every_fact_is_settled(tenancies, accounts, day):
    f = dom.CaseFacts("S", day, tenancies=tuple(tenancies), accounts=tuple(accounts))
    settled = (all(t.start_date <= day and t.end_date is not None and t.end_date <= day
                   for t in tenancies)
               and all((a.final_reading is not None or a.lump_sum) and a.closed_on
                       and a.covered_to and a.covered_to >= day and not a.unpaid
                       and not a.unallocated for a in accounts))
    assert dom.may_archive(f) == bool(settled)
    steps = dom.checklist(f)
    assert all(s.done == (not s.open) for s in steps[:-1])


@given(dates, st.none() | dates)
def test_archived_rows_only_end_a_tenancy_by_the_date(day, end):
    assert dom.archived_row_allowed(day, end) == (end is not None and end <= day)


def test_archived_finding_only_after_the_date():
    assert dom.archived_finding(DAY, [("S1", DAY)], "BLOCK") is None
    f = dom.archived_finding(DAY + timedelta(days=1), [("S2", DAY), ("S1", DAY)], "BLOCK")
    assert (f.code, f.severity, f.figures) == (
        "SITE_ARCHIVED", "BLOCK", {"sites": ["S1", "S2"], "decommission_date": "2024-06-15"})
    assert "S1, S2" in f.message_zh and "archived" in f.message_en


def test_a_shared_account_is_detached_not_closed():
    shared = dom.AccountFact("A-2", Decimal(1), None, DAY, shared=True)
    by = {s.code: s.open for s in dom.checklist(done_facts(accounts=(shared,)))}
    assert [en for _, en in by["ACCOUNTS"]] == [
        "account A-2 also feeds other sites: remove this site's split through the accounts "
        "import"]
    moved = dom.AccountFact("A-2", None, None, DAY, shared=True, detached=True)
    assert dom.may_archive(done_facts(accounts=(moved,)))
