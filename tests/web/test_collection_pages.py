"""The collection pages through Django's test client on the small province: statements
(issue, confirm, withdraw, invoice; XLSX and PDF), receipts with manual match and unmatch,
ageing totals; scope on every page (a guessed id answers 404) and formula-safe XLSX."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from pdfminer.high_level import extract_text

from tests.integration.test_collection import confirmed, month, receipts  # noqa: F401
from tests.web.test_pages import login
from towerledger.bills.models import Bill
from towerledger.collection import services
from towerledger.collection.models import Receipt, Statement
from towerledger.settlement.models import Application, Line

D = Decimal


def page(client, name, *args, query=""):
    r = client.get(reverse(name, args=args) + query)
    assert r.status_code == 200, (name, r.status_code)
    return r


def xlsx_rows(response):
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(book.active.values)


@pytest.fixture
def issued(confirmed, users):  # noqa: F811
    return {s.operator.code: s for s in services.issue_statements(month(), users["admin"])}


def test_statements_are_scoped_and_guessed_ids_answer_404(issued, users):
    cmcc, ctcc = issued["CMCC"], issued["CTCC"]
    op = login(users["cmcc"])
    body = page(op, "statements").content.decode()
    assert cmcc.number in body and ctcc.number not in body
    assert "对账单" in body and "出具本月对账单" not in body
    for name in ("statement", "statement_pdf", "statement_xlsx"):
        assert op.get(reverse(name, args=[ctcc.pk])).status_code == 404, name
        assert op.get(reverse(name, args=[999999])).status_code == 404, name
    assert page(op, "statement", cmcc.pk).context["can_confirm"]
    ly = login(users["clerk_ly"])
    assert cmcc.number not in page(ly, "statements").content.decode()
    assert ly.get(reverse("statement", args=[cmcc.pk])).status_code == 404
    assert ly.post(reverse("statement_withdraw", args=[cmcc.pk]),
                   {"reason": "x"}).status_code == 404
    clerk = page(login(users["clerk_zz"]), "statements").content.decode()
    assert "出具本月对账单" in clerk and all(s.number in clerk for s in issued.values())
    viewer = login(users["viewer"])
    assert "出具本月对账单" not in page(viewer, "statements").content.decode()
    assert viewer.post(reverse("statements_issue"), {"month": "2024-05"}).status_code == 404
    # the operator cannot withdraw nor invoice; the clerk cannot confirm
    assert op.post(reverse("statement_withdraw", args=[cmcc.pk]),
                   {"reason": "x"}).status_code == 404
    assert login(users["clerk_zz"]).post(reverse("statement_confirm", args=[cmcc.pk]),
                                         {"agree": "1"}).status_code == 404
    assert Statement.objects.get(pk=cmcc.pk).status == "ISSUED"


def test_navigation_has_the_collection_pages(users):
    for who in ("cmcc", "clerk_zz", "viewer"):
        nav = page(login(users[who]), "home").content.decode().split("<main")[0]
        assert "对账单" in nav and "回款核销" in nav and "账龄" in nav, who


def test_issue_confirm_invoice_and_withdraw_through_the_pages(confirmed, users):  # noqa: F811
    clerk = login(users["clerk_zz"])
    r = clerk.post(reverse("statements_issue"), {"month": "bad"}, follow=True)
    assert "YYYY-MM" in r.content.decode()
    # the current month has not ended: issuing it needs the explicit tick (issue 16)
    r = clerk.post(reverse("statements_issue"), {"month": f"{month():%Y-%m}"}, follow=True)
    assert "尚未结束" in r.content.decode() and not Statement.objects.exists()
    r = clerk.post(reverse("statements_issue"), {"month": f"{month():%Y-%m}", "early": "1"},
                   follow=True)
    text = r.content.decode()
    assert "已出具 3 张对账单" in text
    sts = {s.operator.code: s for s in Statement.objects.all()}
    assert {s.city.name for s in sts.values()} == {"郑州市"}
    r = clerk.post(reverse("statements_issue"), {"month": f"{month():%Y-%m}", "early": "1"},
                   follow=True)
    assert "没有待出对账单的已确认明细" in r.content.decode()
    cmcc = sts["CMCC"]
    detail = page(login(users["cmcc"]), "statement", cmcc.pk)
    body = detail.content.decode()
    lines = Line.objects.filter(statement=cmcc)
    assert detail.context["totals"]["rec"] == lines.aggregate(s=Sum("receivable"))["s"]
    assert f"{cmcc.receivable:,.2f}" in body and "确认对账单" in body and "税负因子金额" in body
    # confirmation needs the tick box; then it is confirmed, once
    op = login(users["cmcc"])
    r = op.post(reverse("statement_confirm", args=[cmcc.pk]), {}, follow=True)
    assert "请勾选" in r.content.decode()
    assert Statement.objects.get(pk=cmcc.pk).status == "ISSUED"
    r = op.post(reverse("statement_confirm", args=[cmcc.pk]), {"agree": "1"}, follow=True)
    assert "已确认对账单" in r.content.decode()
    cmcc.refresh_from_db()
    assert cmcc.status == "CONFIRMED" and cmcc.confirmed_by == users["cmcc"]
    r = op.post(reverse("statement_confirm", args=[cmcc.pk]), {"agree": "1"}, follow=True)
    assert "不能确认" in r.content.decode()
    # a confirmed statement cannot be withdrawn: said in the user's language
    r = clerk.post(reverse("statement_withdraw", args=[cmcc.pk]), {"reason": "重出"},
                   follow=True)
    assert "已确认的对账单不能撤回" in r.content.decode()
    clerk.post(reverse("set_language"), {"language": "en", "next": "/"})
    r = clerk.post(reverse("statement_withdraw", args=[cmcc.pk]), {"reason": "redo"},
                   follow=True)
    assert "cannot change" in r.content.decode()
    clerk.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    # invoice on the confirmed one
    today = timezone.localdate()
    r = clerk.post(reverse("statement_invoice", args=[cmcc.pk]), {
        "invoice_no": "FP-0001", "invoice_date": (today + timedelta(days=2)).isoformat(),
        "invoice_amount": str(cmcc.receivable)}, follow=True)
    assert "晚于今天" in r.content.decode()
    r = clerk.post(reverse("statement_invoice", args=[cmcc.pk]), {
        "invoice_no": "FP-0001", "invoice_date": today.isoformat(),
        "invoice_amount": str(cmcc.receivable)}, follow=True)
    assert "已登记发票 FP-0001" in r.content.decode()
    cmcc.refresh_from_db()
    assert cmcc.invoice_no == "FP-0001" and cmcc.invoice_amount == cmcc.receivable
    r = clerk.post(reverse("statement_invoice", args=[cmcc.pk]), {
        "invoice_no": "FP-0002", "invoice_date": today.isoformat(),
        "invoice_amount": "1"}, follow=True)
    assert Statement.objects.get(pk=cmcc.pk).invoice_no == "FP-0001"
    # the invoice on an issued one is refused; withdrawing it needs a reason
    ctcc = sts["CTCC"]
    r = clerk.post(reverse("statement_invoice", args=[ctcc.pk]), {
        "invoice_no": "FP-9", "invoice_date": today.isoformat(), "invoice_amount": "1"},
        follow=True)
    assert "对账单确认后才能开票" in r.content.decode()
    r = clerk.post(reverse("statement_withdraw", args=[ctcc.pk]), {"reason": " "}, follow=True)
    assert "请填写原因" in r.content.decode()
    r = clerk.post(reverse("statement_withdraw", args=[ctcc.pk]), {"reason": "漏了一张账单"},
                   follow=True)
    assert "已撤回" in r.content.decode()
    assert Statement.objects.get(pk=ctcc.pk).status == "VOID"
    assert not Line.objects.filter(statement=ctcc).exists()
    # the withdrawn one still shows what it was
    assert page(clerk, "statement", ctcc.pk).context["totals"]["rec"] == ctcc.receivable
    # filters
    listing = page(clerk, "statements", query="?status=VOID").content.decode()
    assert ctcc.number in listing and cmcc.number not in listing


def test_statement_pdf_is_chinese_and_adds_up(issued, users):
    st = issued["CMCC"]
    r = login(users["cmcc"]).get(reverse("statement_pdf", args=[st.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    text = extract_text(io.BytesIO(r.content))
    assert "电费对账单" in text and st.number in text and "第 1 页 / 共" in text
    lines = Line.objects.filter(statement=st)
    total = lines.aggregate(s=Sum("receivable"))["s"]
    assert f"{total:,.2f}" in text and "税负因子金额" in text and "合计" in text
    for ln in lines:
        assert f"L{ln.pk}" in text and f"{ln.receivable:,.2f}" in text


def test_statement_pdf_pages_repeat_the_header_and_number(issued, users):
    st = issued["CMCC"]
    line = Line.objects.filter(statement=st).first()
    # 120 more lines on the statement (as adjustments: one allocation per bill and tenancy)
    fields = {f.attname: getattr(line, f.attname) for f in line._meta.concrete_fields
              if f.attname != "id"}
    clones = [Line(**{**fields, "kind": "ADJUSTMENT"}) for _ in range(120)]
    Line.objects.bulk_create(clones)
    from towerledger.collection.pdf import render_statement

    text = extract_text(io.BytesIO(render_statement(st)))
    pages = text.split("\x0c")
    pages = [p for p in pages if p.strip()]
    m = re.search(r"共 (\d+) 页", text)
    assert m and int(m.group(1)) == len(pages) >= 3
    for i, p in enumerate(pages, start=1):
        assert st.number in p and f"第 {i} 页 / 共 {len(pages)} 页" in p
        assert "应收金额" in p   # the table header repeats
    total = Line.objects.filter(statement=st).aggregate(s=Sum("receivable"))["s"]
    assert f"{total:,.2f}" in pages[-1]


def test_statement_xlsx_is_scoped_formula_safe_and_totals(issued, users):
    st = issued["CMCC"]
    Bill.objects.update(bill_no='=HYPERLINK("http://x","y")')
    r = login(users["cmcc"]).get(reverse("statement_xlsx", args=[st.pk]))
    assert r.status_code == 200
    rows = xlsx_rows(r)
    head, data, total = rows[0], rows[1:-1], rows[-1]
    col = {h: i for i, h in enumerate(head)}
    lines = Line.objects.filter(statement=st)
    assert {row[col["line_id"]] for row in data} == {f"L{ln.pk}" for ln in lines}
    assert "'=HYPERLINK(\"http://x\",\"y\")" in {row[col["bill_no"]] for row in data}
    assert not any(isinstance(v, str) and v.startswith("=") for row in rows for v in row)
    assert D(str(total[col["receivable"]])) == lines.aggregate(s=Sum("receivable"))["s"]


def test_receipts_manual_match_and_unmatch_through_the_pages(issued, users, tmp_path):
    cmcc = issued["CMCC"]
    today = timezone.localdate().isoformat()
    receipts(tmp_path, [["R-1", "CMCC", "郑州市", "100.00", today, "电话确认"],
                        ["R-2", "CTCC", "郑州市", "5.00", today, ""]])
    r1 = Receipt.objects.get(receipt_no="R-1")
    r2 = Receipt.objects.get(receipt_no="R-2")
    assert r1.status == "UNMATCHED"
    # scope: the CMCC user sees R-1 only, read-only; another city's clerk neither
    op = login(users["cmcc"])
    listing = page(op, "receipts")
    assert "R-1" in listing.content.decode() and "R-2<" not in listing.content.decode()
    assert listing.context["totals"]["unapplied"] == D("100.00")
    assert op.get(reverse("receipt", args=[r2.pk])).status_code == 404
    assert op.get(reverse("receipt", args=[999999])).status_code == 404
    detail = page(op, "receipt", r1.pk)
    assert "suggestions" not in detail.context and "手工核销" not in detail.content.decode()
    assert op.post(reverse("receipt_match", args=[r1.pk]),
                   {"statement": cmcc.pk, "reason": "x"}).status_code == 404
    assert op.post(reverse("receipts_match")).status_code == 404
    ly = login(users["clerk_ly"])
    assert "R-1" not in page(ly, "receipts").content.decode()
    assert ly.get(reverse("receipt", args=[r1.pk])).status_code == 404
    # the clerk sees the suggestion, and matches to the statement's lines with a reason
    clerk = login(users["clerk_zz"])
    detail = page(clerk, "receipt", r1.pk)
    assert [s["statement"].pk for s in detail.context["suggestions"]] == [cmcc.pk]
    assert detail.context["line_page"].paginator.count == Line.objects.filter(
        statement=cmcc).count()
    r = clerk.post(reverse("receipt_match", args=[r1.pk]), {"statement": cmcc.pk,
                                                             "reason": ""}, follow=True)
    assert "请填写核销原因" in r.content.decode()
    r = clerk.post(reverse("receipt_match", args=[r1.pk]),
                   {"statement": cmcc.pk, "reason": "客户来电确认"}, follow=True)
    assert "已核销 100.00 元" in r.content.decode()
    r1.refresh_from_db()
    assert (r1.applied, r1.status) == (D("100.00"), "APPLIED")
    app = Application.objects.get(receipt=r1)
    assert app.rule == "MANUAL" and app.reason == "客户来电确认" and app.statement_id == cmcc.pk
    body = page(clerk, "receipt", r1.pk).content.decode()
    assert "手工核销" in body and "客户来电确认" in body
    # the statement shows it part-paid
    st_page = page(op, "statement", cmcc.pk)
    assert st_page.context["totals"]["off"] == D("100.00")
    assert "部分回款" in st_page.content.decode()
    # unmatch with a reason (none: refused)
    r = clerk.post(reverse("receipt_unmatch", args=[r1.pk]),
                   {"applications": [app.pk], "reason": ""}, follow=True)
    assert "请填写反核销原因" in r.content.decode()
    r = clerk.post(reverse("receipt_unmatch", args=[r1.pk]),
                   {"applications": [app.pk], "reason": "误核销"}, follow=True)
    assert "已反核销 1 笔" in r.content.decode()
    r1.refresh_from_db()
    assert (r1.applied, r1.status) == (D("0.00"), "UNMATCHED")
    assert Application.objects.get(pk=app.pk).reversal_reason == "误核销"
    # an application of another receipt cannot be undone through this one
    assert clerk.post(reverse("receipt_unmatch", args=[r2.pk]),
                      {"applications": [app.pk], "reason": "x"}).status_code == 302
    # choose lines by hand
    line = Line.objects.filter(statement=cmcc).order_by("pk").first()
    r = clerk.post(reverse("receipt_match", args=[r1.pk]),
                   {"lines": [line.pk], "reason": "指定站址"}, follow=True)
    assert Line.objects.get(pk=line.pk).written_off == min(line.receivable, D("100.00"))
    # a line of another operator is refused
    other = Line.objects.filter(statement=issued["CTCC"]).first()
    r = clerk.post(reverse("receipt_match", args=[r2.pk]),
                   {"lines": [line.pk], "reason": "x"}, follow=True)
    assert "不属于该运营商" in r.content.decode()
    assert Line.objects.get(pk=other.pk).written_off == D("0.00")


def test_run_automatic_matching_from_the_list(issued, users, tmp_path):
    ctcc = issued["CTCC"]
    today = timezone.localdate().isoformat()
    # the import matches at once; a receipt stored before its statement existed waits
    receipts(tmp_path, [["R-7", "CTCC", "郑州市", str(ctcc.receivable), today, "5月"]])
    r = Receipt.objects.get()
    assert r.status == "APPLIED"   # exact amount of one open statement
    services.unmatch(list(r.applications.values_list("pk", flat=True)), users["admin"], "x")
    clerk = login(users["clerk_zz"])
    listing = page(clerk, "receipts", query="?status=open")
    assert listing.context["open_count"] == 1
    resp = clerk.post(reverse("receipts_match"), {"status": "open"}, follow=True)
    assert "自动核销" in resp.content.decode() and f"{ctcc.receivable:,.2f}" in \
        resp.content.decode()
    assert Receipt.objects.get().status == "APPLIED"


def test_ageing_totals_agree_with_the_lines_and_are_scoped(confirmed, users):  # noqa: F811
    today = timezone.localdate()
    lines = list(Line.objects.filter(status="CONFIRMED").order_by("pk"))
    Line.objects.filter(pk=lines[0].pk).update(push_date=today - timedelta(days=45))
    Line.objects.filter(pk=lines[1].pk).update(push_date=today - timedelta(days=400))
    open_lines = Line.objects.filter(status__in=["PUSHED", "CONFIRMED", "DISPUTED"],
                                     operator__isnull=False)
    expected = open_lines.aggregate(s=Sum("receivable"))["s"]
    for by in ("operator", "city", "county", "site"):
        r = page(login(users["admin"]), "ageing", query=f"?by={by}")
        assert r.context["grand"] == expected, by
        assert sum(r.context["totals"]) == expected, by
        assert f"{expected:,.2f}" in r.content.decode()
    r = page(login(users["admin"]), "ageing")
    assert "31-60 天" in r.content.decode() and "365 天以上" in r.content.decode()
    assert "echarts" in r.content.decode()
    mine = page(login(users["cmcc"]), "ageing", query="?by=site")
    assert mine.context["grand"] == open_lines.filter(operator__code="CMCC").aggregate(
        s=Sum("receivable"))["s"]
    assert page(login(users["clerk_ly"]), "ageing").context["grand"] == 0
    # the XLSX: same totals, formula-safe keys
    Line.objects.filter(pk=lines[0].pk).update(site=lines[0].site)
    lines[0].site.__class__.objects.filter(pk=lines[0].site_id).update(
        site_code="=1+2")
    x = login(users["admin"]).get(reverse("ageing_export") + "?by=site")
    rows = xlsx_rows(x)
    assert rows[0][0] == "site" and rows[-1][0] == "合计 total"
    assert D(str(rows[-1][-1])) == expected
    assert "'=1+2" in {row[0] for row in rows}
    assert not any(isinstance(v, str) and v.startswith("=") for row in rows for v in row)


def test_operators_cannot_upload_receipts_and_viewers_cannot_match(users, tmp_path):
    from tests.helpers import write_csv
    from tests.integration.test_collection import RECEIPT_HEADER

    path = write_csv(tmp_path / "r.csv", RECEIPT_HEADER,
                     [["R-X", "CMCC", "郑州市", "1.00", timezone.localdate().isoformat(), ""]])
    for who in ("cmcc", "viewer"):
        with path.open("rb") as f:
            r = login(users[who]).post(reverse("imports"), {"kind": "receipts", "file": f})
        assert r.status_code == 404, who
    assert not Receipt.objects.exists()
    assert login(users["viewer"]).post(reverse("receipts_match")).status_code == 404
    page(login(users["viewer"]), "receipts")
    page(login(users["viewer"]), "ageing")
    # the clerk's import page offers receipts
    assert "receipts · 回款" in page(login(users["clerk_zz"]), "imports").content.decode()


def test_a_statement_confirmed_without_a_user_shows_a_dash(issued, users):
    """A statement taken over from a legacy ledger is confirmed with no user of ours: its
    page says "—" for who, never Python's "None"."""
    from django.utils import timezone

    cmcc = issued["CMCC"]
    Statement.objects.filter(pk=cmcc.pk).update(status="CONFIRMED", confirmed_by=None,
                                                confirmed_at=timezone.now())
    body = page(login(users["admin"]), "statement", cmcc.pk).content.decode()
    confirmed_by = body.split('id="confirmed-by">', 1)[1].split("</dd>", 1)[0]
    assert confirmed_by.startswith("— · ") and "None" not in confirmed_by
