"""Issue 14 in a real browser: a clerk decommissions ZZ001 through the checklist while May's
bill (and, when the rent program is there, a rent payment) is still due; the site cannot be
archived until they are settled; then it archives, and a later bill for the site is held
by SITE_ARCHIVED, not allocated."""

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUT
from tests.integration.test_bills import MAY, bill, import_bills
from tests.integration.test_decommission import JULY, JUNE
from towerledger.bills import services as bill_services
from towerledger.bills.models import Flag
from towerledger.domain.codes import SiteStatus
from towerledger.programs.decommission import rentlink
from towerledger.programs.decommission.models import CaseEvent, Decommissioning
from towerledger.settlement.models import Line
from towerledger.sites.models import Site, Tenancy

pytestmark = pytest.mark.browser


def log_in(browser, live_server, username, password="pw-Secret-123"):
    page = browser.new_context(viewport={"width": 1360, "height": 900},
                               locale="zh-CN").new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button.btn")
    expect(page).not_to_have_url(re.compile(r"/login/"))
    page.on("dialog", lambda d: d.accept())
    return page


def step(page, form, reason, **fields):
    for name, value in fields.items():
        page.fill(f"{form} [name={name}]", value)
    page.fill(f"{form} [name=reason]", reason)
    page.click(f"{form} button[type=submit]")


def _rent_contract(user):
    from towerledger.programs.rent.services import save_contract

    return save_contract("RC-ZZ001", user=user, site=Site.objects.get(site_code="ZZ001"),
                         start_date=date(2024, 1, 1), end_date=date(2026, 12, 31),
                         annual_rent=Decimal("12000.00"), cycle="YEARLY", timing="ADVANCE")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_clerk_decommissions_a_site_through_the_checklist(browser, live_server, users,
                                                          tmp_path):
    june = JUNE[:13] + ["", ""]                                    # the final bill, unpaid
    assert import_bills(tmp_path, [MAY, june], name="bills.csv").stored   # both still due
    contract = _rent_contract(users["clerk_zz"]) if rentlink.available() else None
    clerk = log_in(browser, live_server, "clerk_zz")
    clerk.goto(f"{live_server.url}/programs/")
    clerk.click(".hub a[href=\"/programs/decommission/\"]")
    step(clerk, "#decommission-new", "业主收回场地", site_code="ZZ001",
         planned_date="2024-06-15")
    expect(clerk.locator("#planned-date")).to_have_text("2024-06-15")
    case = Decommissioning.objects.get(site__site_code="ZZ001")
    bills_row = clerk.locator("#checklist tr[data-step=BILLS]")
    expect(bills_row).to_contain_text("B-2405 尚未支付")

    step(clerk, "#end-tenancies", "运营商退租")
    expect(clerk.locator(".messages")).to_contain_text("已终止 3 个租户服务")
    assert set(Tenancy.objects.filter(site__site_code="ZZ001")
               .values_list("end_date", flat=True)) == {date(2024, 6, 15)}
    expect(clerk.locator("#checklist tr[data-step=TENANCIES] .badge")).to_have_text(
        re.compile("^完成"))
    row = "#accounts tr[data-account=A-100]"
    step(clerk, f"{row} form.reading", "最终抄表", final_reading="18500",
         read_on="2024-06-15")
    step(clerk, f"{row} form.closing", "供电局销户", closed_on="2024-06-20")
    expect(clerk.locator(row)).to_contain_text("2024-06-20")

    # May's bill is still due: archiving is refused and says why
    step(clerk, "#archive", "拆站完成")
    expect(clerk.locator(".messages")).to_contain_text("不能归档")
    expect(clerk.locator(".messages")).to_contain_text("B-2405")
    if contract:
        expect(clerk.locator(".messages")).to_contain_text("场租合同RC-ZZ001")
    expect(clerk.locator("#site-status")).to_have_text("ACTIVE")
    clerk.screenshot(path=OUT / "60-decommission-refused.png", full_page=True)

    # settled: May and June are paid (and allocated at once), rent terminated
    bill_services.pay_bills([bill("A-100", "B-2405").pk, bill("A-100", "B-2406").pk],
                            users["clerk_zz"], date(2024, 7, 5), "补缴")
    step(clerk, "#terminate-rent", "场租合同终止")
    if contract:
        # the last payment prorated: 12,000.00 × 167/366 days = 5,475.41, then paid
        expect(clerk.locator(".messages")).to_contain_text("已终止 1 份场租合同")
        expect(clerk.locator("#checklist tr[data-step=RENT]")).to_contain_text("5475.41")
        from towerledger.programs.rent.services import record_payment

        record_payment(contract, payment_no="RP-ZZ001-1", paid_date=date(2024, 7, 1), seq=1,
                       user=users["clerk_zz"])
    clerk.reload()
    expect(clerk.locator("#checklist tr[data-step=RENT] .badge")).to_have_text(
        re.compile("^完成"))
    expect(clerk.locator("#checklist tr[data-step=BILLS] .badge")).to_have_text(
        re.compile("^完成"))
    step(clerk, "#archive", "拆站完成")
    expect(clerk.locator(".messages")).to_contain_text("站址已归档")
    expect(clerk.locator("#site-status")).to_have_text("ARCHIVED")
    expect(clerk.locator("#events")).to_contain_text("拆站完成")
    clerk.screenshot(path=OUT / "61-decommission-archived.png", full_page=True)
    assert Site.objects.get(site_code="ZZ001").status == SiteStatus.ARCHIVED
    assert list(CaseEvent.objects.filter(case=case).values_list("step", flat=True)) == [
        "REQUEST", "TENANCIES", "READINGS", "ACCOUNTS", "REFUSED", "RENT", "ARCHIVE"]

    # a later bill for the archived site: flagged SITE_ARCHIVED (BLOCK), never allocated
    assert import_bills(tmp_path, [JULY], name="july.csv").stored
    july = bill("A-100", "B-2407")
    assert Flag.objects.filter(bill=july, code="SITE_ARCHIVED", severity="BLOCK",
                               status="OPEN").exists()
    assert july.status == "UNPAID" and not Line.objects.filter(bill=july).exists()
    clerk.goto(f"{live_server.url}/bills/{july.pk}/")
    expect(clerk.locator("body")).to_contain_text("SITE_ARCHIVED")
    clerk.screenshot(path=OUT / "62-bill-site-archived.png", full_page=True)
