"""场租 in a real browser: the clerk creates the worked example's contract on the rent page
(ZZ001, 12,000.00 a year from 2023-04-01, 3 % a year, quarterly in advance, by tenancy) and
pays item 5 (2024-04-01..06-30, year 2, 3,090.00) from the contract's schedule; the CTCC
operator logs in, finds the 场租 line on its pending lines, sees the explanation and
confirms it: 509.34, the hand computation of docs/programs/rent.md."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUT, log_in, new_page
from towerledger.access.models import AuditEntry
from towerledger.analysis.books import check_books
from towerledger.settlement.models import Line

pytestmark = pytest.mark.browser
D = Decimal


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_clerk_contract_and_payment_operator_confirms_the_rent_line(browser, live_server, users):
    clerk = new_page(browser)
    log_in(clerk, live_server, "clerk_zz")
    clerk.goto(f"{live_server.url}/programs/")
    clerk.click("ul.hub a[href='/programs/rent/']")
    form = clerk.locator("#rent-new")
    form.locator("input[name=contract_no]").fill("HT-ZZ001")
    form.locator("input[name=site_code]").fill("ZZ001")
    form.locator("input[name=landlord]").fill("张三")
    form.locator("input[name=bank_account]").fill("6228480000000001")
    form.locator("input[name=start_date]").fill("2023-04-01")
    form.locator("input[name=end_date]").fill("2026-03-31")
    form.locator("input[name=annual_rent]").fill("12000.00")
    form.locator("select[name=cycle]").select_option("QUARTERLY")
    form.locator("select[name=timing]").select_option("ADVANCE")
    form.locator("select[name=escalation]").select_option("PERCENT")
    form.locator("input[name=escalation_pct]").fill("3")
    form.locator("input[name=deposit]").fill("3000")
    form.locator("select[name=pass_through]").select_option("TENANCY")
    form.locator("input[name=reason]").fill("新签业主合同")
    form.locator("button[type=submit]").click()
    expect(clerk.locator("h1")).to_contain_text("HT-ZZ001")
    expect(clerk.locator("#rent-total")).to_have_text("37090.80")
    row = clerk.locator("#rent-schedule tr[data-seq='5']")
    expect(row).to_contain_text("3090.00")
    expect(row).to_contain_text("12360.00")
    row.locator("input[name=payment_no]").fill("FK-2024-Q2")
    row.locator("input[name=paid_date]").fill("2024-04-02")
    row.locator("button[type=submit]").click()
    expect(clerk.locator(".messages")).to_contain_text("推送场租明细 3 条")
    expect(clerk.locator("#rent-lines")).to_contain_text("509.34")
    clerk.screenshot(path=OUT / "70-clerk-rent-contract.png", full_page=True)
    assert AuditEntry.objects.filter(action="rent.pay", object_key="FK-2024-Q2").exists()

    op = new_page(browser)
    log_in(op, live_server, "ctcc_zz")
    op.goto(f"{live_server.url}/programs/rent/")
    expect(op.locator("#rent-op-lines")).to_contain_text("509.34")
    op.goto(f"{live_server.url}/programs/rent/contracts/HT-ZZ001/")
    expect(op.locator("main")).not_to_contain_text("6228480000000001")   # no bank details
    expect(op.locator("main")).not_to_contain_text("张三")
    op.goto(f"{live_server.url}/lines/")
    row = op.locator("tr", has_text="T-ZZ001-CTCC")
    expect(row).to_contain_text("509.34")
    row.locator("a").first.click()
    expect(op.locator("#explanation")).to_contain_text("第2合同年度")
    expect(op.locator("#explanation")).to_contain_text("在网45天")
    assert op.locator("#line-receivable").inner_text().strip().endswith("509.34")
    op.screenshot(path=OUT / "71-operator-rent-line.png", full_page=True)
    op.goto(f"{live_server.url}/lines/")
    op.locator("tr", has_text="T-ZZ001-CTCC").locator("input[name=ids]").check()
    op.click("button:has-text('确认所选')")
    expect(op.locator(".messages")).to_contain_text("已确认 1 条")
    line = Line.objects.get(kind="RENT", tenancy__tenancy_id="T-ZZ001-CTCC")
    assert (line.status, line.receivable) == (Line.Status.CONFIRMED, D("509.34"))
    assert check_books() == []
