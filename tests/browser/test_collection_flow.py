"""Collection in a real browser: the clerk issues the month's statements, the operators
confirm theirs, the clerk imports a receipt file (via the import page) with a partial
payment, an over-payment and a payment that names nothing, and each ends where a finance
team expects it; the unreferenced one is matched by hand; the operator downloads the PDF
and its text is Chinese with totals equal to the lines. Screenshots in test-output/browser/."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from pdfminer.high_level import extract_text
from playwright.sync_api import expect

from tests.browser.conftest import OUT
from tests.browser.test_settlement_flow import log_in, new_page
from tests.conftest import make_user
from tests.helpers import write_csv
from tests.integration.test_collection import RECEIPT_HEADER
from tests.integration.test_settlement import paid_may
from towerledger.access.models import Role
from towerledger.collection import services
from towerledger.collection.models import Receipt, Statement
from towerledger.org.models import Operator
from towerledger.settlement import services as settlement
from towerledger.settlement.models import Line

D = Decimal
pytestmark = pytest.mark.browser


def amount(text: str) -> D:
    return D(re.search(r"-?[\d,]+\.\d{2}", text).group(0).replace(",", ""))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_statements_receipts_and_matching_end_where_finance_expects(
        browser, live_server, users, tmp_path, settings):
    settings.TOWERLEDGER_JOB_RUNNER = "sync"
    paid_may(tmp_path, users)
    settlement.run_deadlines(timezone.localdate() + timedelta(days=11))   # deemed confirmed
    month = f"{timezone.localdate():%Y-%m}"

    # the clerk issues the month's statements
    clerk = new_page(browser)
    clerk.on("dialog", lambda d: d.accept())
    log_in(clerk, live_server, "clerk_zz")
    clerk.click("nav >> text=对账单")
    clerk.fill("#issue-form input[name=month]", month)
    clerk.check("#issue-early")   # the month has not ended: issuing it is a conscious choice
    clerk.click("#issue-form button:has-text('出具对账单')")
    expect(clerk.locator(".messages")).to_contain_text("已出具 3 张对账单")
    clerk.screenshot(path=OUT / "21-clerk-statements.png", full_page=True)
    sts = {s.operator.code: s for s in Statement.objects.select_related("operator")}
    cmcc, cucc, ctcc = sts["CMCC"], sts["CUCC"], sts["CTCC"]

    # each operator confirms its statement electronically
    op = new_page(browser)
    op.on("dialog", lambda d: d.accept())
    log_in(op, live_server, "cmcc")
    op.click("nav >> text=对账单")
    expect(op.locator("table.data")).to_contain_text(cmcc.number)
    expect(op.locator("table.data")).not_to_contain_text(ctcc.number)
    op.click(f"text={cmcc.number}")
    expect(op.locator("#statement-receivable")).to_have_text(f"{cmcc.receivable:,.2f}")
    op.screenshot(path=OUT / "22-operator-statement-to-confirm.png", full_page=True)
    op.click("#confirm-statement")   # the box is not ticked: the browser refuses
    assert Statement.objects.get(pk=cmcc.pk).status == "ISSUED"
    op.check("#agree")
    op.click("#confirm-statement")
    expect(op.locator(".messages")).to_contain_text("已确认对账单")
    expect(op.locator("h1")).to_contain_text("运营商已确认")
    expect(op.locator("#confirmed-by")).to_contain_text("cmcc")
    # the other operators confirm theirs through the service
    services.confirm_statement(ctcc.pk, users["ctcc_zz"])
    cucc_user = make_user("cucc", Role.OPERATOR, operator=Operator.objects.get(code="CUCC"))
    services.confirm_statement(cucc.pk, cucc_user)

    # the clerk records the invoice on CMCC's confirmed statement
    clerk.goto(f"{live_server.url}/statements/{cmcc.pk}/")
    clerk.fill("#invoice-form input[name=invoice_no]", "FP-2024-0001")
    clerk.click("#invoice-form button")
    expect(clerk.locator(".messages")).to_contain_text("已登记发票 FP-2024-0001")
    expect(clerk.locator("#invoice")).to_contain_text("FP-2024-0001")

    # the clerk imports the bank's receipts through the import page
    today = timezone.localdate().isoformat()
    partial = cmcc.receivable - D("100.00")
    over = ctcc.receivable + D("50.00")
    path = write_csv(tmp_path / "五月回款.csv", RECEIPT_HEADER, [
        ["HK-001", "CMCC", "郑州市", str(partial), today, f"电费 {cmcc.number}"],
        ["HK-002", "CTCC", "郑州市", str(over), today, f"付 {ctcc.number}"],
        ["HK-003", "CUCC", "郑州市", "100.00", today, "五月电费"],
    ], encoding="gb18030")
    clerk.click("nav >> text=导入")
    clerk.select_option("select[name=kind]", "receipts")
    clerk.set_input_files("input[name=file]", str(path))
    clerk.click("text=上传并导入")
    expect(clerk.locator("#job")).to_contain_text("3")
    # the result says how each receipt was matched (issue 16)
    expect(clerk.locator("#receipt-matches tr", has_text="HK-001")).to_contain_text("按参考号")
    expect(clerk.locator("#receipt-matches tr", has_text="HK-003")).to_contain_text("未匹配")
    clerk.screenshot(path=OUT / "23-clerk-receipts-imported.png", full_page=True)
    r = {x.receipt_no: x for x in Receipt.objects.all()}
    assert (r["HK-001"].status, r["HK-002"].status, r["HK-003"].status) == (
        "APPLIED", "PARTIAL", "UNMATCHED")

    clerk.click("nav >> text=回款核销")
    table = clerk.locator("table.data")
    expect(table.locator("tr", has_text="HK-001")).to_contain_text("已核销")
    expect(table.locator("tr", has_text="HK-002")).to_contain_text("50.00")
    expect(table.locator("tr", has_text="HK-003")).to_contain_text("未核销")
    clerk.screenshot(path=OUT / "24-clerk-receipts.png", full_page=True)

    # partial: CMCC's statement is part-paid with 100.00 outstanding
    clerk.goto(f"{live_server.url}/statements/{cmcc.pk}/")
    expect(clerk.locator("#paid-state")).to_have_text("部分回款")
    assert amount(clerk.locator("#statement-outstanding").inner_text()) == D("100.00")
    # over: CTCC's statement paid, the 50.00 held as an advance on the receipt
    clerk.goto(f"{live_server.url}/statements/{ctcc.pk}/")
    expect(clerk.locator("#paid-state")).to_have_text("已回款")
    assert amount(clerk.locator("#statement-outstanding").inner_text()) == D("0.00")
    clerk.goto(f"{live_server.url}/receipts/{r['HK-002'].pk}/")
    expect(clerk.locator("#receipt-unapplied")).to_have_text("50.00")
    expect(clerk.locator("main")).to_contain_text("预收")
    expect(clerk.locator("#applications")).to_contain_text("摘要含对账单号或发票号")

    # unreferenced: unmatched, then matched by hand to the suggested statement
    clerk.goto(f"{live_server.url}/receipts/{r['HK-003'].pk}/")
    expect(clerk.locator("#applications")).to_contain_text("尚未核销")
    row = clerk.locator("#suggestions tr", has_text=cucc.number)
    row.locator("input[name=reason]").fill("联通来电确认为五月电费")
    clerk.screenshot(path=OUT / "25-clerk-manual-match.png", full_page=True)
    row.locator("button").click()
    expect(clerk.locator(".messages")).to_contain_text("已核销 100.00 元")
    expect(clerk.locator("#applications")).to_contain_text("手工核销")
    expect(clerk.locator("#applications")).to_contain_text("联通来电确认为五月电费")
    assert Receipt.objects.get(receipt_no="HK-003").status == "APPLIED"
    clerk.goto(f"{live_server.url}/statements/{cucc.pk}/")
    expect(clerk.locator("#paid-state")).to_have_text("部分回款")

    # the CTCC operator sees its payment read-only with the advance balance
    ct = new_page(browser)
    log_in(ct, live_server, "ctcc_zz")
    ct.click("nav >> text=回款核销")
    expect(ct.locator("table.data")).to_contain_text("HK-002")
    expect(ct.locator("table.data")).not_to_contain_text("HK-001")
    expect(ct.locator("#unapplied-total")).to_have_text("50.00")
    expect(ct.locator(".sums")).to_contain_text("预收")
    assert ct.locator("#auto-match").count() == 0
    ct.click("text=HK-002")
    expect(ct.locator("#receipt-unapplied")).to_have_text("50.00")
    assert ct.locator("#unmatch-form").count() == 0
    ct.screenshot(path=OUT / "26-operator-receipt.png", full_page=True)

    # ageing: the clerk's table adds up to the outstanding of the lines
    clerk.click("nav >> text=账龄")
    expect(clerk.locator("#ageing-chart canvas")).to_have_count(1)
    outstanding = Line.objects.filter(status__in=["PUSHED", "CONFIRMED", "DISPUTED"],
                                      operator__isnull=False, city__name="郑州市").aggregate(
        s=Sum("receivable") - Sum("written_off"))["s"]
    assert amount(clerk.locator("#ageing-total").inner_text()) == outstanding
    expect(clerk.locator("tr.total")).to_contain_text(f"{outstanding:,.2f}")
    clerk.screenshot(path=OUT / "27-clerk-ageing.png", full_page=True)

    # the operator downloads the statement as PDF: Chinese, and it adds up
    op.goto(f"{live_server.url}/statements/{cmcc.pk}/")
    with op.expect_download() as got:
        op.click("#download-pdf")
    assert got.value.suggested_filename == f"{cmcc.number}.pdf"
    pdf = OUT / "28-operator-statement.pdf"
    got.value.save_as(pdf)
    text = extract_text(io.BytesIO(pdf.read_bytes()))
    assert "电费对账单" in text and cmcc.number in text and "第 1 页 / 共 1 页" in text
    lines = Line.objects.filter(statement=cmcc)
    assert f"{lines.aggregate(s=Sum('receivable'))['s']:,.2f}" in text
    assert f"{lines.aggregate(s=Sum('tax_amount'))['s']:,.2f}" in text
    assert "FP-2024-0001" in text and "运营商已确认" in text
    op.screenshot(path=OUT / "29-operator-statement-confirmed.png", full_page=True)
