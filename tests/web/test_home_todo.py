"""The home page as each role's to-do list: every item's count, amount and nearest deadline
equal what the list it links to shows for the same user (its scope), on the small province
with May paid, disputes open and answered, a statement issued, a receipt unmatched and a
bill held by a BLOCK finding."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Min, Sum
from django.urls import reverse
from django.utils import timezone

from tests.integration.test_bills import JUNE, import_bills
from tests.integration.test_collection import receipts
from tests.integration.test_settlement import lines_of, paid_may
from tests.web.test_pages import login
from towerledger.bills.models import Bill
from towerledger.collection import services as collection
from towerledger.collection.models import Statement
from towerledger.settlement import services
from towerledger.settlement.models import Dispute, Line
from towerledger.web.statement_month import last_ended_month

D = Decimal
ZERO = D("0.00")
# a July bill whose readings give 500 kWh while it says 4,000: READING_MISMATCH, BLOCK
JULY_BLOCKED = ["B-2407", "A-100", "2024-07-01", "2024-07-31", "18500", "19000", "1", "",
                "4000", "1.10", "4400.00", "", "GENERAL", "", ""]


@pytest.fixture
def month_of_work(province, users, tmp_path, settings):
    """May paid and pushed; CTCC disputes two lines (one answered PARTIAL, one open); CMCC
    confirms both its lines, one two months ago (stated) and one last month (unstated);
    a CMCC receipt waits; June is unpaid and payable, July held by a BLOCK finding."""
    settings.MEDIA_ROOT = tmp_path / "media"
    b = paid_may(tmp_path, users)
    lines = lines_of(b)
    ctcc, clerk = users["ctcc_zz"], users["clerk_zz"]
    d = services.dispute_line(lines["T-ZZ001-CTCC"].pk, ctcc, "RATIO", "电流值有误")
    services.answer_dispute(d.pk, clerk, "PARTIAL", "按实测电流调整", new_amount=D("400.00"))
    zz002_ctcc = Line.objects.get(site__site_code="ZZ002", operator__code="CTCC")
    services.dispute_line(zz002_ctcc.pk, ctcc, "KWH", "读数不对")
    cmcc = list(Line.objects.filter(operator__code="CMCC").order_by("pk"))
    services.confirm_lines([ln.pk for ln in cmcc], users["cmcc"])
    last = last_ended_month(timezone.localdate())
    before = (last - timedelta(days=1)).replace(day=1)
    at = timezone.now().replace(year=before.year, month=before.month, day=10)
    Line.objects.filter(pk=cmcc[0].pk).update(confirmed_at=at)
    Line.objects.filter(pk=cmcc[1].pk).update(
        confirmed_at=at.replace(year=last.year, month=last.month))
    assert len(collection.issue_statements(before, users["admin"])) == 1
    receipts(tmp_path, [["R-1", "CMCC", "郑州市", "100.00", "2024-06-20", "no reference"]])
    june = [*JUNE[:13], "", ""]          # no paid date: waits to be paid
    assert import_bills(tmp_path, [june, JULY_BLOCKED], name="bills2.csv").stored
    assert Bill.objects.get(bill_no="B-2407").blocking > 0
    return {"last": last, "before": before}


def tasks(client) -> dict:
    r = client.get(reverse("home"))
    assert r.status_code == 200
    return {t.key: t for t in r.context["tasks"]}, r.content.decode()


def listed(client, task) -> dict:
    """What the page behind a to-do item shows: count, amount and nearest deadline."""
    r = client.get(task.url)
    assert r.status_code == 200, task.url
    c = r.context
    path = task.url.split("?")[0].split("#")[0]
    if path == reverse("lines"):
        qs = c["page"].paginator.object_list.qs   # the lines it pages month by month
        due = qs.aggregate(d=Min("confirm_due"))["d"]
        if "tab=history" in task.url:   # disputed lines: the tower's deadline to answer
            due = Dispute.objects.filter(line__in=qs, status__in=Dispute.OPEN_STATES) \
                .aggregate(d=Min("due"))["d"]
        return {"count": c["totals"]["n"], "amount": c["totals"]["receivable"], "due": due}
    if path == reverse("bills"):
        qs = c["page"].paginator.object_list
        return {"count": c["page"].paginator.count,
                "amount": qs.aggregate(s=Sum("amount"))["s"] or ZERO}
    if path == reverse("disputes"):
        ds = list(c["page"].paginator.object_list)
        return {"count": len(ds), "amount": sum((x.line.receivable for x in ds), ZERO),
                "due": min((x.due for x in ds), default=None),
                "overdue": sum(1 for x in ds if x.overdue)}
    if path == reverse("receipts"):
        return {"count": c["totals"]["n"], "amount": c["totals"]["unapplied"]}
    if path == reverse("month_close"):
        return {"count": len(c["closable"])}
    if "#issue-form" in task.url:
        return {"count": c["issue"].lines, "amount": c["issue"].receivable}
    if path == reverse("statements"):
        return {"count": c["totals"]["n"], "amount": c["totals"]["receivable"]}
    if path == reverse("theft"):
        cases = c["page"].paginator.object_list
        return {"count": c["page"].paginator.count,
                "due": min((x.due for x in cases), default=None)}
    raise AssertionError(task.url)


def agree(client, items: dict):
    for task in items.values():
        shown = listed(client, task)
        assert shown["count"] == task.count, (task.key, shown, task)
        if "amount" in shown:   # to the fen: SQLite sums decimals as floats
            assert D(shown["amount"]).quantize(ZERO) == task.amount, (task.key, shown, task)
        if "due" in shown:
            assert shown["due"] == task.due, (task.key, shown, task)


def test_the_operators_to_do_is_its_pending_lines_answers_disputes_and_statements(
        month_of_work, users):
    c = login(users["ctcc_zz"])
    items, body = tasks(c)
    assert list(items) == ["lines_to_confirm", "answers_to_reply", "disputes_waiting",
                           "statements_to_confirm"]
    pending = Line.objects.filter(operator__code="CTCC", status="PUSHED")
    p = items["lines_to_confirm"]
    assert p.count == pending.count() == 1       # the answer on ZZ001 (ZZ002 is disputed)
    assert p.amount == pending.aggregate(s=Sum("receivable"))["s"]
    assert p.due == pending.aggregate(d=Min("confirm_due"))["d"]
    assert items["answers_to_reply"].count == 1 and items["answers_to_reply"].amount == D("400")
    assert items["disputes_waiting"].count == 1
    assert items["statements_to_confirm"].count == 0
    agree(c, items)
    # the page says it in words: count, amount in yuan, and the date to confirm by
    assert f"{p.amount:,.2f} 元" in body and f"确认截止 {p.due:%Y-%m-%d}" in body
    assert reverse("lines") + '"' in body
    cmcc = login(users["cmcc"])
    items, body = tasks(cmcc)
    st = Statement.objects.get(operator__code="CMCC")
    s = items["statements_to_confirm"]
    assert (s.count, s.amount) == (1, st.receivable) and s.tone == "warn"
    assert items["lines_to_confirm"].count == 0 and "暂无待办" in body
    agree(cmcc, items)


def test_the_clerks_to_do_is_scoped_to_its_city(month_of_work, users):
    c = login(users["clerk_zz"])
    items, body = tasks(c)
    assert list(items) == ["bills_blocked", "bills_to_pay", "disputes_to_answer",
                           "statements_to_issue", "receipts_to_match", "theft_overdue"]
    assert items["theft_overdue"].count == 0   # no theft case in this province
    blocked = items["bills_blocked"]
    assert blocked.count == 1 and blocked.amount == D("4400.00") and blocked.tone == "block"
    assert items["bills_to_pay"].count == 1 and items["bills_to_pay"].amount == D("4598.00")
    assert items["disputes_to_answer"].count == 1
    issue = items["statements_to_issue"]
    cmcc_last = Line.objects.filter(operator__code="CMCC", statement__isnull=True).get()
    assert issue.count == 1 and issue.amount == cmcc_last.receivable
    assert f"{month_of_work['last']:%Y-%m}" in issue.label
    assert items["receipts_to_match"].count == 1 and items["receipts_to_match"].amount == 100
    agree(c, items)
    # Luoyang's clerk: nothing of Zhengzhou's (the receipt has a city; the bills feed ZZ001)
    ly = login(users["clerk_ly"])
    items, _body = tasks(ly)
    assert all(t.count == 0 for t in items.values()), {k: t.count for k, t in items.items()}
    agree(ly, items)


def test_the_province_admin_also_has_escalations_and_months_to_close(month_of_work, users):
    # ZZ002's dispute rejected, disputed again: escalated to the province
    first = Dispute.objects.get(status="OPEN")
    back = services.answer_dispute(first.pk, users["clerk_zz"], "REJECT", "读数与供电局一致")
    d = services.dispute_line(back.pk, users["ctcc_zz"], "KWH", "仍然不对")
    assert d.status == "ESCALATED"
    c = login(users["admin"])
    items, body = tasks(c)
    assert list(items) == ["bills_blocked", "bills_to_pay", "disputes_to_answer",
                           "disputes_escalated", "statements_to_issue", "receipts_to_match",
                           "theft_overdue", "months_to_close"]
    assert items["disputes_escalated"].count == 1 and items["disputes_to_answer"].count == 0
    assert items["months_to_close"].count > 0
    agree(c, items)
    # the clerk does not answer escalations: not on its list
    assert "disputes_escalated" not in tasks(login(users["clerk_zz"]))[0]
    # an overdue dispute turns the item red, says so, and links the overdue ones
    Dispute.objects.filter(pk=d.pk).update(overdue=True,
                                           due=timezone.localdate() - timedelta(days=2))
    items, body = tasks(c)
    t = items["disputes_escalated"]
    assert t.tone == "block" and t.overdue and "已过期" in body and "1 件已超期" in body
    assert listed(c, t)["overdue"] == 1 and reverse("disputes") + "?state=overdue" in body


def test_the_viewer_sees_the_dashboard_tile_and_no_to_do(month_of_work, users):
    r = login(users["viewer"]).get(reverse("home"))
    assert r.context["tasks"] == []
    body = r.content.decode()
    assert reverse("dashboard") in body and "分析看板" in body and "待办" not in body
