"""The settlement pages through Django's test client on the small province: scope of every
page (a guessed id answers 404), bulk confirmation, disputes with attachments, the dispute
desk's answers, the scoped formula-safe XLSX download and the site ledger's totals."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.db.models import Sum
from django.urls import reverse

from tests.integration.test_settlement import lines_of, paid_may
from tests.web.test_pages import login
from towerledger.bills.models import Bill
from towerledger.settlement import services
from towerledger.settlement.models import Dispute, Line

D = Decimal


@pytest.fixture
def paid(province, users, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return paid_may(tmp_path, users)


def page(client, name, *args, query=""):
    r = client.get(reverse(name, args=args) + query)
    assert r.status_code == 200, (name, r.status_code)
    return r


def test_pending_lines_are_scoped_and_guessed_ids_answer_404(paid, users):
    lines = lines_of(paid)
    cmcc_line, ctcc_line = lines["T-ZZ001-CMCC"], lines["T-ZZ001-CTCC"]
    c = login(users["cmcc"])
    r = page(c, "lines")
    body = r.content.decode()
    mine = Line.objects.filter(operator__code="CMCC", status="PUSHED")
    assert f"L{cmcc_line.pk}<" in body and f"L{ctcc_line.pk}<" not in body
    assert r.context["totals"]["n"] == mine.count() == 2
    assert r.context["totals"]["receivable"] == mine.aggregate(s=Sum("receivable"))["s"]
    assert "全部确认" in body and "待确认明细" in body
    assert c.get(reverse("line", args=[ctcc_line.pk])).status_code == 404
    assert c.get(reverse("line", args=[lines["TOWER"].pk])).status_code == 404
    assert "分摊明细" in page(c, "line", cmcc_line.pk).content.decode()
    for name in ("disputes",):
        assert c.get(reverse(name)).status_code == 404
    # a clerk of another city sees none of Zhengzhou's lines, and gets 404 for them
    ly = login(users["clerk_ly"])
    assert page(ly, "lines").context["totals"]["n"] == 0
    assert ly.get(reverse("line", args=[cmcc_line.pk])).status_code == 404
    assert page(ly, "ledger").context["totals"] == [] or all(
        t == 0 for t in page(ly, "ledger").context["totals"])
    # staff read the list but cannot confirm
    viewer = login(users["viewer"])
    vb = page(viewer, "lines").content.decode()
    assert f"L{ctcc_line.pk}<" in vb and "确认所选" not in vb
    assert viewer.get(reverse("disputes")).status_code == 404
    assert viewer.post(reverse("lines_confirm"), {"ids": [cmcc_line.pk]}).status_code == 404
    assert login(users["clerk_zz"]).post(reverse("lines_confirm"),
                                         {"ids": [cmcc_line.pk]}).status_code == 404
    assert Line.objects.get(pk=cmcc_line.pk).status == "PUSHED"


def test_navigation_follows_the_role(paid, users):
    op = page(login(users["cmcc"]), "home").content.decode().split("<main")[0]
    assert "待确认明细" in op and "站址台账" in op and "争议处理" not in op
    clerk = page(login(users["clerk_zz"]), "home").content.decode().split("<main")[0]
    assert "争议处理" in clerk and "站址台账" in clerk


def test_bulk_confirm_selected_and_all_filtered(paid, users):
    lines = lines_of(paid)
    c = login(users["cmcc"])
    r = c.post(reverse("lines_confirm"), {"scope": "selected", "next": reverse("lines"),
                                          "ids": [lines["T-ZZ001-CMCC"].pk,
                                                  lines["T-ZZ001-CTCC"].pk]}, follow=True)
    text = r.content.decode()
    assert "已确认 1 条" in text and "不可确认 1 条" in text
    assert Line.objects.get(pk=lines["T-ZZ001-CMCC"].pk).status == "CONFIRMED"
    assert Line.objects.get(pk=lines["T-ZZ001-CTCC"].pk).status == "PUSHED"
    # "confirm all filtered" takes the filter, not the page: only ZZ002's CMCC line
    other = Line.objects.get(operator__code="CMCC", site__site_code="ZZ002")
    assert other.status == "PUSHED"
    r = c.post(reverse("lines_confirm"), {"scope": "filtered", "filter": "site=ZZ002"},
               follow=True)
    assert "已确认 1 条" in r.content.decode()
    assert Line.objects.get(pk=other.pk).status == "CONFIRMED"
    assert not Line.objects.filter(operator__code="CMCC", status="PUSHED").exists()
    history = page(c, "lines", query="?tab=history").content.decode()
    assert f"L{other.pk}<" in history and "已确认" in history
    # nothing selected: said so, nothing done
    r = c.post(reverse("lines_confirm"), {"scope": "selected"}, follow=True)
    assert "请选择" in r.content.decode()


def test_dispute_with_a_good_attachment_and_the_wrong_types_refused(paid, users, tmp_path):
    ln = lines_of(paid)["T-ZZ001-CTCC"]
    c = login(users["ctcc_zz"])
    form = page(c, "line", ln.pk).content.decode()
    assert "电价不对" in form and "读数/电量不对" in form and "提出争议" in form
    for name, content, message in [
        ("evil.exe", b"MZ\x90\x00", "PDF、JPG、PNG、XLSX 或 CSV"),
        ("fake.pdf", b"PK\x03\x04zip", "内容与类型不符"),
        ("photo.png", b"\xff\xd8\xff\xe0jpeg", "内容与类型不符"),
    ]:
        up = io.BytesIO(content)
        up.name = name
        r = c.post(reverse("line_dispute", args=[ln.pk]),
                   {"reason": "KWH", "comment": "x", "attachment": up}, follow=True)
        assert message in r.content.decode(), name
    assert not Dispute.objects.exists()
    big = io.BytesIO(b"%PDF-1.4\n" + b"0" * (5 * 2**20 + 1))
    big.name = "big.pdf"
    r = c.post(reverse("line_dispute", args=[ln.pk]),
               {"reason": "KWH", "attachment": big}, follow=True)
    assert "附件超过 5 MB" in r.content.decode() and not Dispute.objects.exists()
    good = io.BytesIO(b"%PDF-1.4\n%%EOF\n")
    good.name = "电表照片说明.pdf"
    r = c.post(reverse("line_dispute", args=[ln.pk]),
               {"reason": "KWH", "comment": "实际读数为 14200", "attachment": good}, follow=True)
    assert "已提出争议" in r.content.decode()
    d = Dispute.objects.get()
    assert d.line_id == ln.pk and d.attachment and d.comment == "实际读数为 14200"
    assert Line.objects.get(pk=ln.pk).status == "DISPUTED"
    url = reverse("dispute_attachment", args=[d.pk])
    got = login(users["clerk_zz"]).get(url)
    assert got.status_code == 200 and b"".join(got.streaming_content).startswith(b"%PDF")
    assert c.get(url).status_code == 200
    for who in ("clerk_ly", "cmcc"):
        assert login(users[who]).get(url).status_code == 404, who
    # the operator cannot dispute another operator's line (404), nor the same line twice
    other = lines_of(paid)["T-ZZ001-CMCC"]
    assert c.post(reverse("line_dispute", args=[other.pk]), {"reason": "KWH"}) \
        .status_code == 404
    r = c.post(reverse("line_dispute", args=[ln.pk]), {"reason": "KWH"}, follow=True)
    assert "不能提出争议" in r.content.decode()


def test_clerk_answers_partial_and_both_sides_see_the_new_amount(paid, users):
    ln = lines_of(paid)["T-ZZ001-CTCC"]
    op = login(users["ctcc_zz"])
    op.post(reverse("line_dispute", args=[ln.pk]), {"reason": "RATIO", "comment": "电流值有误"})
    d = Dispute.objects.get()
    clerk = login(users["clerk_zz"])
    desk = page(clerk, "disputes").content.decode()
    assert f"D{d.pk}" in desk and "电流值有误" in desk and "分摊比例不对" in desk
    assert f"{ln.receivable:,.2f}" in desk
    assert f"D{d.pk}" not in page(login(users["clerk_ly"]), "disputes").content.decode()
    assert login(users["clerk_ly"]).post(reverse("dispute_answer", args=[d.pk]), {
        "outcome": "ACCEPT", "explanation": "x"}).status_code == 404
    # a wrong amount is refused in the user's language
    r = clerk.post(reverse("dispute_answer", args=[d.pk]), {
        "outcome": "PARTIAL", "new_amount": str(ln.receivable + 1), "explanation": "调整"},
        follow=True)
    assert "新金额须在 0 与" in r.content.decode()
    clerk.post(reverse("set_language"), {"language": "en", "next": "/"})
    r = clerk.post(reverse("dispute_answer", args=[d.pk]), {
        "outcome": "PARTIAL", "new_amount": "abc", "explanation": "x"}, follow=True)
    assert "not a number" in r.content.decode()
    r = clerk.post(reverse("dispute_answer", args=[d.pk]), {
        "outcome": "PARTIAL", "new_amount": "", "explanation": "x"}, follow=True)
    assert "PARTIAL needs the new amount" in r.content.decode()
    clerk.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    r = clerk.post(reverse("dispute_answer", args=[d.pk]), {
        "outcome": "PARTIAL", "new_amount": "400.00", "explanation": "按实测电流调整"},
        follow=True)
    adj = Line.objects.get(kind="ADJUSTMENT")
    assert f"L{adj.pk}" in r.content.decode() and "400.00" in r.content.decode()
    assert adj.receivable == D("400.00") and adj.adjusts_id == ln.pk
    d.refresh_from_db()
    assert d.status == "PARTIAL"
    # the operator sees the answer on the old line and the new amount pending
    old = page(op, "line", ln.pk).content.decode()
    assert "按实测电流调整" in old and f"L{adj.pk}" in old and "调账" in old
    pending = page(op, "lines")
    assert f"L{adj.pk}<" in pending.content.decode()
    assert page(op, "line", adj.pk).context["line"].receivable == D("400.00")


def test_an_escalated_dispute_is_refused_to_the_clerk_and_answered_by_the_province(
        paid, users):
    ln = lines_of(paid)["T-ZZ001-CTCC"]
    op, clerk = users["ctcc_zz"], users["clerk_zz"]
    d1 = services.dispute_line(ln.pk, op, "KWH", "读数不对")
    back = services.answer_dispute(d1.pk, clerk, "REJECT", "读数与供电局一致")
    d2 = services.dispute_line(back.pk, op, "KWH", "仍然不对")
    assert d2.status == "ESCALATED"
    c = login(clerk)
    desk = page(c, "disputes", query="?state=ESCALATED").content.decode()
    assert f"D{d2.pk}" in desk and "只有省公司管理员可以处理" in desk
    r = c.post(reverse("dispute_answer", args=[d2.pk]),
               {"outcome": "ACCEPT", "explanation": "同意"}, follow=True)
    assert "该争议已升级到省公司" in r.content.decode()
    assert Dispute.objects.get(pk=d2.pk).status == "ESCALATED"
    admin = login(users["admin"])
    assert "只有省公司管理员可以处理" not in page(admin, "disputes").content.decode()
    r = admin.post(reverse("dispute_answer", args=[d2.pk]),
                   {"outcome": "ACCEPT", "explanation": "省公司同意撤回"}, follow=True)
    assert "0.00" in r.content.decode()
    assert Dispute.objects.get(pk=d2.pk).status == "ACCEPTED"
    chain = page(login(op), "line", back.pk).context["chain"]
    assert [x.pk for x in chain][:2] == [ln.pk, back.pk] and len(chain) == 3


def test_xlsx_download_is_scoped_and_formula_safe(paid, users):
    Bill.objects.filter(pk=paid.pk).update(bill_no='=HYPERLINK("http://x","y")')
    r = login(users["cmcc"]).get(reverse("lines_export"))
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    rows = list(book.active.values)
    head, data = rows[0], rows[1:]
    col = {h: i for i, h in enumerate(head)}
    assert {row[col["operator"]] for row in data} == {"CMCC"}
    assert len(data) == Line.objects.filter(operator__code="CMCC", status="PUSHED").count()
    bill_nos = {row[col["bill_no"]] for row in data}
    assert "'=HYPERLINK(\"http://x\",\"y\")" in bill_nos
    assert not any(isinstance(v, str) and v.startswith("=") for row in data for v in row)
    # the download follows the filter
    r = login(users["admin"]).get(reverse("lines_export") + "?site=ZZ002")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)))
    sites = {row[5] for row in list(book.active.values)[1:]}
    assert sites == {"ZZ002"}


def test_ledger_totals_agree_with_the_lines(paid, users):
    lines = lines_of(paid)
    services.confirm_lines([lines["T-ZZ001-CMCC"].pk], users["cmcc"])
    services.dispute_line(lines["T-ZZ001-CTCC"].pk, users["ctcc_zz"], "KWH", "")
    r = page(login(users["admin"]), "ledger")
    labels = [h["label"] for h in r.context["headers"]][3:]
    totals = dict(zip(labels, r.context["totals"], strict=True))

    def s(field="receivable", **kw):
        return Line.objects.filter(**kw).aggregate(x=Sum(field))["x"] or D("0.00")

    paid_amounts = Bill.objects.filter(status="PAID").aggregate(x=Sum("amount"))["x"]
    assert totals["已付金额"] == paid_amounts == D("4752.00") + D("1860.00")
    assert totals["铁塔承担"] == s("cost_share", status="TOWER")
    operators = sum(v for k, v in totals.items() if k.startswith("分摊"))
    assert operators + totals["铁塔承担"] == totals["已付金额"]
    assert totals["已确认"] == s(status="CONFIRMED") == lines["T-ZZ001-CMCC"].receivable
    assert totals["争议中"] == s(status="DISPUTED") == lines["T-ZZ001-CTCC"].receivable
    assert totals["待确认"] == s(status__in=["PUSHED", "DISPUTED"])
    # outstanding is what the current versions still owe (nothing is written off yet)
    assert totals["已核销"] == D("0.00")
    assert totals["未结清"] == s(status__in=["PUSHED", "DISPUTED", "CONFIRMED"])
    body = r.content.decode()
    assert f"{totals['已付金额']:,.2f}" in body and reverse("site", args=["ZZ001"]) in body
    # rows add up to the totals
    rows = r.context["rows"]
    assert sum(D(row["cells"][3]["text"].replace(",", "")) for row in rows) == paid_amounts
    # the operator's ledger: its own receivables only, no bills, no tower-borne part
    r = page(login(users["ctcc_zz"]), "ledger")
    labels = [h["label"] for h in r.context["headers"]]
    assert "已付金额" not in labels and "铁塔承担" not in labels
    totals = dict(zip(labels[3:], r.context["totals"], strict=True))
    assert totals["未结清"] == s(operator__code="CTCC", status__in=["PUSHED", "DISPUTED"])
    assert {row["cells"][0]["text"] for row in r.context["rows"]} <= {"ZZ001", "ZZ002"}
    # the filter narrows rows and totals alike
    r = page(login(users["admin"]), "ledger", query="?site=ZZ002&month=2024-05")
    assert {row["cells"][0]["text"] for row in r.context["rows"]} == {"ZZ002"}
