"""Allocation on payment (T+0), confirmation, disputes and adjustments, deadlines, the books
check and the exports — on the small province of helpers, through the real services."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from tests.integration.test_bills import GRID, MAY, bill, import_bills
from towerledger.access.models import AuditEntry
from towerledger.analysis.books import check_books
from towerledger.bills import services as bill_services
from towerledger.exchange.export import export_kind
from towerledger.importers.reader import read_table
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.settlement import services
from towerledger.settlement.allocate import allocate_bills
from towerledger.settlement.models import Line
from towerledger.sites.models import Tenancy

D = Decimal


def paid_may(tmp_path, users):
    assert import_bills(tmp_path, [MAY, GRID]).stored
    b = bill("A-100", "B-2405")
    result = bill_services.pay_bills([b.pk], users["clerk_zz"], timezone.localdate(),
                                     reason="test")
    assert result.paid == [b.pk]
    return b


def lines_of(b, **kw):
    return {ln.tenancy.tenancy_id if ln.tenancy_id else "TOWER": ln
            for ln in Line.objects.filter(bill=b, **kw).select_related("tenancy")}


def assert_balanced():
    t = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert t["d"] == t["c"]


def test_payment_allocates_and_pushes_the_same_day_exact_to_the_fen(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    lines = lines_of(b)
    # DC_CURRENT 40/25 A for 16 days, then 40/25/15 A for 15 days (CTCC from 17 May)
    assert set(lines) == {"T-ZZ001-CMCC", "T-ZZ001-CUCC", "T-ZZ001-CTCC", "TOWER"}
    assert sum(ln.cost_share for ln in lines.values()) == D("4752.00")
    ctcc = lines["T-ZZ001-CTCC"]
    assert ctcc.active_days == 15
    assert ctcc.share == D("0.090726")   # 15/31 × 15/80
    assert ctcc.cost_share == D("431.13")
    assert ctcc.tax_factor == D("0.1300")  # GENERAL invoice
    assert ctcc.receivable == ctcc.cost_share + ctcc.tax_amount
    assert ctcc.tax_amount == (ctcc.cost_share * D("0.13")).quantize(D("0.01"))
    assert lines["TOWER"].cost_share == D("0.00") and lines["TOWER"].status == "TOWER"
    today = timezone.localdate()
    for key in ("T-ZZ001-CMCC", "T-ZZ001-CUCC", "T-ZZ001-CTCC"):
        ln = lines[key]
        assert ln.status == "PUSHED" and ln.push_date == today == b.__class__.objects.get(
            pk=b.pk).paid_date
        assert ln.confirm_due == today + timedelta(days=10)
        assert ln.trace["text_zh"] and ln.trace["text_en"]
    entry = JournalEntry.objects.get(kind="ALLOCATION", reference=f"B{b.pk}")
    d = entry.lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert d["d"] == d["c"] == D("4752.00") + sum(ln.tax_amount for ln in lines.values())
    assert_balanced()
    assert check_books() == []


def test_allocating_again_changes_nothing(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    before = list(Line.objects.order_by("pk").values_list("pk", "receivable"))
    entries = JournalEntry.objects.filter(kind="ALLOCATION").count()
    assert entries == 2   # the grid bill came in paid and was allocated on import
    again = allocate_bills([b.pk])
    assert again.bills == 0 and again.lines == 0
    assert allocate_bills().bills == 0
    assert list(Line.objects.order_by("pk").values_list("pk", "receivable")) == before
    assert JournalEntry.objects.filter(kind="ALLOCATION").count() == entries


def test_an_operator_sees_and_confirms_only_its_own_lines(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    lines = lines_of(b)
    cmcc, ctcc = lines["T-ZZ001-CMCC"], lines["T-ZZ001-CTCC"]
    result = services.confirm_lines([cmcc.pk, ctcc.pk, lines["TOWER"].pk], users["cmcc"])
    assert result.confirmed == [cmcc.pk]
    assert {pk for pk, _ in result.refused} == {ctcc.pk, lines["TOWER"].pk}
    assert Line.objects.get(pk=ctcc.pk).status == "PUSHED"
    again = services.confirm_lines([cmcc.pk], users["cmcc"])
    assert again.already == [cmcc.pk] and again.confirmed == []
    assert JournalEntry.objects.filter(kind="CONFIRM").count() == 1
    assert AuditEntry.objects.filter(action="confirm", object_key=f"L{cmcc.pk}").exists()
    with pytest.raises(services.SettlementError):
        services.confirm_lines([ctcc.pk], users["clerk_zz"])
    assert check_books() == []


def test_partial_dispute_becomes_an_adjustment_line_pushed_again(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    ctcc = lines_of(b)["T-ZZ001-CTCC"]
    op = users["ctcc_zz"]
    d = services.dispute_line(ctcc.pk, op, "RATIO", "电流值有误")
    assert Line.objects.get(pk=ctcc.pk).status == "DISPUTED"
    assert d.status == "OPEN" and d.round == 1
    with pytest.raises(services.SettlementError):
        services.dispute_line(ctcc.pk, op, "RATIO", "again")
    with pytest.raises(services.SettlementError) as bad:
        services.answer_dispute(d.pk, users["clerk_zz"], "PARTIAL", "ok",
                                new_amount=ctcc.receivable + 1)
    assert bad.value.zh and bad.value.en
    adj = services.answer_dispute(d.pk, users["clerk_zz"], "PARTIAL", "按实测电流调整",
                                  new_amount=D("400.00"))
    assert adj.adjusts_id == ctcc.pk and adj.kind == "ADJUSTMENT" and adj.status == "PUSHED"
    assert adj.receivable == D("400.00") == adj.cost_share + adj.tax_amount
    assert Line.objects.get(pk=ctcc.pk).status == "SUPERSEDED"
    d.refresh_from_db()
    assert d.status == "PARTIAL" and d.adjustment_id == adj.pk
    # what the tower no longer recovers is now tower-borne, and the books still agree
    assert_balanced()
    assert check_books() == []
    assert services.confirm_lines([adj.pk], op).confirmed == [adj.pk]
    receivable = JournalLine.objects.filter(account="RECEIVABLE", operator__code="CTCC") \
        .aggregate(s=Sum("debit"))["s"]
    assert receivable == D("400.00")
    assert check_books() == []


def test_a_rejected_line_disputed_again_escalates_to_the_province(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    cucc = lines_of(b)["T-ZZ001-CUCC"]
    from tests.conftest import make_user
    from towerledger.access.models import Role
    from towerledger.org.models import Operator

    op = make_user("cucc", Role.OPERATOR, operator=Operator.objects.get(code="CUCC"))
    d1 = services.dispute_line(cucc.pk, op, "KWH", "读数不对")
    back = services.answer_dispute(d1.pk, users["clerk_zz"], "REJECT", "读数与供电局一致")
    assert back.receivable == cucc.receivable and back.status == "PUSHED"
    d2 = services.dispute_line(back.pk, op, "KWH", "仍然不对")
    assert d2.status == "ESCALATED" and d2.round == 2
    with pytest.raises(services.SettlementError) as no:
        services.answer_dispute(d2.pk, users["clerk_zz"], "ACCEPT", "同意")
    assert no.value.code == "forbidden"
    final = services.answer_dispute(d2.pk, users["admin"], "ACCEPT", "省公司同意撤回")
    assert final.receivable == D("0.00") and final.status == "CONFIRMED"
    assert check_books() == []


def test_clerks_of_another_city_cannot_touch_the_dispute(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    ctcc = lines_of(b)["T-ZZ001-CTCC"]
    d = services.dispute_line(ctcc.pk, users["ctcc_zz"], "PRICE", "")
    with pytest.raises(services.SettlementError) as e:
        services.answer_dispute(d.pk, users["clerk_ly"], "ACCEPT", "x")
    assert e.value.code == "not_found"
    with pytest.raises(services.SettlementError):
        services.dispute_line(lines_of(b)["T-ZZ001-CMCC"].pk, users["ctcc_zz"], "PRICE", "")


def test_deadlines_deem_silent_lines_confirmed_and_mark_disputes_overdue(province, users,
                                                                         tmp_path):
    b = paid_may(tmp_path, users)
    lines = lines_of(b)
    d = services.dispute_line(lines["T-ZZ001-CTCC"].pk, users["ctcc_zz"], "KWH", "")
    today = timezone.localdate()
    assert services.run_deadlines(today + timedelta(days=10)).deemed == 0
    pending = Line.objects.filter(status="PUSHED").count()   # the grid bill's lines too
    later = services.run_deadlines(today + timedelta(days=11))
    assert later.deemed == pending and Line.objects.filter(bill=b, deemed=True).count() == 2
    assert {ln.status for ln in Line.objects.filter(bill=b, tenancy__isnull=False,
                                                    deemed=True)} == {"CONFIRMED"}
    assert services.run_deadlines(today + timedelta(days=21)).overdue == 1
    d.refresh_from_db()
    assert d.overdue
    assert services.run_deadlines(today + timedelta(days=30)) == services.DeadlineResult(0, 0)
    assert check_books() == []


def test_lump_sum_month_lines_are_prorated_and_made_once(province, users):
    may = date(2024, 5, 1)
    assert services.lump_sums(may) == 1
    line = Line.objects.get(kind="LUMP_SUM")
    assert line.tenancy.tenancy_id == "T-LY001-CUCC" and line.receivable == D("800.00")
    assert services.lump_sums(may) == 0
    Tenancy.objects.filter(tenancy_id="T-LY001-CUCC").update(end_date=date(2024, 6, 10))
    assert services.lump_sums(date(2024, 6, 1)) == 1
    june = Line.objects.get(kind="LUMP_SUM", month=date(2024, 6, 1))
    assert june.receivable == D("266.67") and june.active_days == 10   # 800 × 10/30
    assert_balanced()


def test_check_fails_when_a_paid_bill_is_not_allocated(province, users, tmp_path, settings):
    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False
    b = paid_may(tmp_path, users)
    problems = check_books()
    assert any("B-2405" in p for p in problems)
    allocate_bills()
    assert check_books() == []
    assert Line.objects.filter(bill=b).exists()


def test_exports_carry_the_tower_borne_row_and_are_scoped(province, users, tmp_path):
    paid_may(tmp_path, users)

    def export(kind, user):
        out = tmp_path / f"{kind}-{user.username}.csv"
        export_kind(kind, user, "csv", out)
        t = read_table(out)
        return [dict(zip(t.headers, r, strict=True)) for r in t.rows]

    rows = export("allocations", users["admin"])
    assert {r["tenancy_id"] for r in rows} >= {"T-ZZ001-CMCC", "铁塔自担 TOWER"}
    assert all(set(r) >= {"bill_no", "site_code", "tenancy_id", "operator", "share",
                          "cost_share", "tax_factor", "receivable"} for r in rows)
    mine = export("lines", users["cmcc"])
    assert mine and {r["operator"] for r in mine} == {"CMCC"}
    theirs = export("allocations", users["ctcc_zz"])
    assert theirs and {r["operator"] for r in theirs} == {"CTCC"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'",
                    reason="row locks are PostgreSQL's; SQLite serialises every writer")
def test_two_concurrent_answers_to_one_dispute_cannot_both_win(tmp_path):
    from tests.conftest import make_user
    from tests.helpers import build_province
    from towerledger.access.models import Role
    from towerledger.org.models import City, Operator

    build_province(tmp_path / "master")
    zz = City.objects.get(name="郑州市")
    clerk = make_user("clerk", Role.CITY_CLERK, city=zz)
    admin = make_user("admin", Role.PROVINCE_ADMIN)
    op = make_user("op", Role.OPERATOR, operator=Operator.objects.get(code="CTCC"))
    b = paid_may(tmp_path, {"clerk_zz": clerk})
    d = services.dispute_line(lines_of(b)["T-ZZ001-CTCC"].pk, op, "KWH", "")
    barrier = threading.Barrier(2)
    outcomes = []

    def answer(user, outcome):
        try:
            barrier.wait()
            services.answer_dispute(d.pk, user, outcome, "race", new_amount=D("100.00"))
            outcomes.append(outcome)
        except services.SettlementError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(clerk, "ACCEPT")),
               threading.Thread(target=answer, args=(admin, "PARTIAL"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 2 and outcomes.count("conflict") == 1
    assert Line.objects.filter(kind="ADJUSTMENT").count() == 1
    assert JournalEntry.objects.filter(kind="ADJUSTMENT").count() == 1
    assert check_books() == []


def test_the_worker_keeps_one_daily_deadline_run_queued(province, users, tmp_path):
    from django_tasks_db.models import DBTaskResult

    from towerledger.analysis import tasks

    assert tasks.schedule() is True
    assert tasks.schedule() is False            # a restarted worker queues nothing more
    queued = DBTaskResult.objects.get()
    assert queued.run_after == tasks.next_run() and queued.run_after > timezone.now()
    paid_may(tmp_path, users)
    Line.objects.filter(status="PUSHED").update(confirm_due=date(2000, 1, 1))
    DBTaskResult.objects.all().delete()
    assert tasks.deadlines_daily.call()["deemed"] == Line.objects.filter(deemed=True).count() > 0
    assert DBTaskResult.objects.filter(status="READY").count() == 1   # the next day's run
