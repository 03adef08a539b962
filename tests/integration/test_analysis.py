"""The month's close and its KPI snapshots (DOMAIN §6), on the small province, both DBs."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from tests.integration.test_bills import MAY, bill, import_bills
from towerledger.analysis import close as closing
from towerledger.analysis.kpi import rates
from towerledger.analysis.models import Snapshot
from towerledger.analysis.report import kpi_rows
from towerledger.bills import services as bill_services
from towerledger.ledger.models import MonthClose
from towerledger.settlement.allocate import allocate_bills
from towerledger.settlement.models import Line

D = Decimal
MAY1 = date(2024, 5, 1)


@pytest.fixture
def may_paid(province, users, tmp_path, settings):
    """May's bill paid on its last day and pushed the same day (T+0)."""
    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False
    assert import_bills(tmp_path, [MAY]).stored
    b = bill("A-100", "B-2405")
    bill_services.pay_bills([b.pk], users["clerk_zz"], date(2024, 5, 31), reason="t")
    allocate_bills([b.pk], today=date(2024, 5, 31))
    return b


def province_row(month=MAY1, operator="*"):
    return Snapshot.objects.get(month=month, level="PROVINCE", operator=operator)


def test_close_snapshots_every_scope_and_locks(may_paid):
    mc = closing.close_month(MAY1, as_of=date(2024, 6, 15))
    assert mc.status == "CLOSED" and mc.steps == list(closing.STEPS)
    assert mc.summary["deadlines"]["deemed"] == 3     # silent past 10 June
    # the close pushes May's lump sum (T-LY001-CUCC, 800.00 a month) on the close date: a
    # June chain, not one of May's
    assert mc.summary["programs"]["lump_sums"] == 1
    lump = Line.objects.get(kind="LUMP_SUM", month=MAY1)
    assert (lump.receivable, lump.push_date) == (D("800.00"), date(2024, 6, 15))
    f = province_row().figures
    pushed = Line.objects.exclude(status="TOWER").exclude(kind="LUMP_SUM") \
        .aggregate(s=Sum("receivable"))["s"]
    assert D(str(f["chains_amount"])) == pushed
    assert f["chains"] == 3 and f["t0_lines"] == 3 and f["t0_base"] == 3
    assert f["accounts_expected"] == 1 and f["accounts_paid"] == 1
    assert D(str(f["paid_amount"])) == D("4752.00")
    r = rates(f)
    assert r["t0"] == 1 and r["confirmation"] == 1 and r["payment_completion"] == 1
    assert r["arrears"] == 1 and r["recovery"] == 0
    # the scopes roll up: city = province here; each operator's row sums to the whole
    city = Snapshot.objects.get(month=MAY1, level="CITY", key="郑州市", operator="*")
    assert city.figures["chains_amount"] == f["chains_amount"]
    ops = Snapshot.objects.filter(month=MAY1, level="PROVINCE").exclude(operator="*")
    assert sum(D(str(s.figures["chains_amount"])) for s in ops) == pushed
    assert Snapshot.objects.filter(month=MAY1, level="SITE", key="ZZ001").exists()
    assert not Snapshot.objects.filter(month=MAY1, level="SITE").exclude(operator="*").exists()
    rows = kpi_rows(MAY1)
    assert [r["scope"] for r in rows][:1] == ["河南省"] and rows[0]["t0"] == 1
    # closing again changes nothing
    before = list(Snapshot.objects.order_by("pk").values_list("pk", "figures"))
    assert closing.close_month(MAY1, as_of=date(2024, 6, 20)).status == "CLOSED"
    assert list(Snapshot.objects.order_by("pk").values_list("pk", "figures")) == before


def test_an_interrupted_close_resumes_with_the_same_result(may_paid, monkeypatch):
    real = closing.compute

    def dies(*a, **kw):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(closing, "compute", dies)
    with pytest.raises(KeyboardInterrupt):
        closing.close_month(MAY1, as_of=date(2024, 6, 15))
    mc = MonthClose.objects.get(month=MAY1)
    assert mc.status == "RUNNING" and mc.steps == ["programs", "deadlines", "check"]
    assert not Snapshot.objects.exists()
    monkeypatch.setattr(closing, "compute", real)
    mc = closing.close_month(MAY1, as_of=date(2024, 6, 15))
    assert mc.status == "CLOSED"
    assert province_row().figures["chains"] == 3   # nothing doubled
    assert Line.objects.filter(deemed=True).count() == 3


def test_close_refuses_books_that_do_not_check_out(province, users, tmp_path, settings):
    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False
    assert import_bills(tmp_path, [MAY]).stored
    b = bill("A-100", "B-2405")
    bill_services.pay_bills([b.pk], users["clerk_zz"], date(2024, 5, 31), reason="t")
    with pytest.raises(closing.CloseError) as e:
        closing.close_month(MAY1, as_of=date(2024, 6, 15))
    assert any("B-2405" in p for p in e.value.problems)
    assert MonthClose.objects.get(month=MAY1).status == "RUNNING"
    with pytest.raises(closing.CloseError):
        closing.close_month(date(2024, 6, 1), as_of=date(2024, 6, 15))   # not ended yet


def test_after_a_close_later_postings_land_in_the_open_month(may_paid):
    from towerledger.ledger.models import JournalEntry
    from towerledger.settlement import services as settlement

    closing.close_month(MAY1, as_of=date(2024, 6, 15))
    line = Line.objects.filter(status="CONFIRMED").first()
    assert line is not None
    # a correction dated inside the closed month is booked on the open month's first day
    from towerledger.domain.journal import Posting
    from towerledger.ledger.services import post_entries

    post_entries([(date(2024, 5, 20), "TEST", "late", "late correction", [
        Posting("TOWER_COST", debit=Decimal("1.00"), site="ZZ001"),
        Posting("CASH", credit=Decimal("1.00"))])], site_ids={"ZZ001": line.site_id})
    assert JournalEntry.objects.get(kind="TEST").date == date(2024, 6, 1)
    assert not JournalEntry.objects.filter(date__lte=date(2024, 5, 31)).exclude(
        kind__in=["PAYMENT", "ALLOCATION", "CONFIRM"]).exists()
    assert settlement.run_deadlines(date(2024, 6, 20)).deemed == 0


def test_a_closed_month_says_which_figures_are_stocks_and_which_flows(may_paid):
    mc = closing.close_month(MAY1, as_of=date(2024, 6, 15))
    assert mc.summary["snapshots"]["stocks_as_of"] == "2024-05-31"
    assert mc.summary["snapshots"]["flows_as_of"] == "2024-06-15"


def test_the_open_month_is_live_and_provisional_until_its_close(may_paid, users):
    from towerledger.analysis import live
    from towerledger.analysis.models import ProvisionalMonth
    from towerledger.settlement.services import confirm_lines

    # 20 May: nothing closed yet, May is the open month, read as of that day
    assert live.open_months(date(2024, 5, 20)) == [MAY1]
    assert live.refresh(date(2024, 5, 31)) == [MAY1]
    assert live.provisional() == {MAY1: date(2024, 5, 31)}
    f = province_row().figures
    assert f["chains"] == 3 and D(str(f.get("confirmed_amount", 0))) == 0
    # a confirmation the next day shows in the next refresh
    cmcc = Line.objects.pending().filter(operator__code="CMCC").get()
    assert confirm_lines([cmcc.pk], users["cmcc"]).confirmed == [cmcc.pk]
    live.refresh(timezone.localdate(), months=[MAY1])
    assert D(str(province_row().figures["confirmed_amount"])) == cmcc.receivable
    assert live.provisional()[MAY1] == timezone.localdate()
    # the close replaces the live figures and the month is no longer provisional
    closing.close_month(MAY1, as_of=date(2024, 6, 15))
    assert not ProvisionalMonth.objects.exists()
    assert live.open_months(date(2024, 6, 20)) == [date(2024, 6, 1)]
    assert live.refresh(date(2024, 6, 20), months=[MAY1]) == []   # closed: left alone
