"""The clerk's correction pages: a preview of every line before and after that writes
nothing, then confirm; the operator sees the reversal lines with the reason."""

import re
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from tests.integration.test_settlement import paid_may
from tests.web.test_pages import login
from towerledger.analysis.books import check_books
from towerledger.bills.models import Bill
from towerledger.settlement.models import Line


def test_void_preview_then_confirm_and_the_operator_sees_the_reason(province, users,
                                                                     tmp_path):
    b = paid_may(tmp_path, users)
    before = {ln.pk: ln for ln in Line.objects.current().filter(bill=b)
              .select_related("tenancy")}
    clerk = login(users["clerk_zz"])
    bill_page = clerk.get(reverse("bill", args=[b.pk])).content.decode()
    assert reverse("bill_void", args=[b.pk]) in bill_page
    url = reverse("bill_void", args=[b.pk])
    assert clerk.get(url).status_code == 200
    refused = clerk.post(url, {"reason": " ", "step": "preview"})
    assert refused.status_code == 400 and "请填写调账原因" in refused.content.decode()
    shown = clerk.post(url, {"reason": "重复缴费 duplicate", "step": "preview"})
    html = shown.content.decode()
    table = html.split('id="preview-lines"')[1]
    for ln in before.values():
        row = re.search(rf"<td>{ln.tenancy.tenancy_id}</td>.*?</tr>", table, re.S).group(0)
        assert f"{ln.receivable:,.2f}" in row and "0.00" in row and f"L{ln.pk}" in row
    assert 'id="apply"' in html
    assert Bill.objects.get(pk=b.pk).status == "PAID"   # a preview writes nothing
    # other cities' clerks, viewers and operators do not get the page
    for who in ("clerk_ly", "viewer", "cmcc"):
        assert login(users[who]).post(url, {"reason": "x", "step": "apply"}).status_code \
            == 404
    done = clerk.post(url, {"reason": "重复缴费 duplicate", "step": "apply"})
    assert done.status_code == 302 and Bill.objects.get(pk=b.pk).status == "VOID"
    assert check_books() == []
    # the operator's line page shows the reversal with the reason
    cmcc = login(users["cmcc"])
    reversal = Line.objects.current().get(bill=b, operator__code="CMCC")
    page = cmcc.get(reverse("line", args=[reversal.pk])).content.decode()
    assert "重复缴费 duplicate" in page and f"L{reversal.adjusts_id}" in page
    again = clerk.post(url, {"reason": "重复缴费 duplicate", "step": "preview"})
    assert 'id="already"' in again.content.decode()


def test_refund_page_previews_the_split_then_records_it(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    clerk = login(users["clerk_zz"])
    url = reverse("refund_new")
    form = {"account_no": "A-100", "refund_no": "RF-1", "amount": "47.52",
            "refund_date": timezone.localdate().isoformat(), "bill_no": b.bill_no,
            "reason": "供电局退费"}
    html = clerk.post(url, {**form, "step": "preview"}).content.decode()
    assert html.count("T-ZZ001-") == 3 and 'id="preview-total"' in html
    assert not Line.objects.filter(kind="CREDIT").exists()
    assert clerk.post(url, {**form, "step": "apply"}).status_code == 302
    credits = Line.objects.filter(kind="CREDIT")
    assert sum(ln.cost_share for ln in credits) == Decimal("-47.52")
    assert check_books() == []
    assert login(users["clerk_ly"]).post(url, {**form, "refund_no": "RF-2",
                                               "step": "apply"}).status_code == 400
