"""Issue 12 in a real browser: the clerk terminates a tenancy on a FIXED_RATIO site through
the import page and the next bill allocates over the remaining operator; then the clerk
voids a paid duplicate bill from its page (preview, confirm); the operator sees the
reversal lines with their reason on the portal, and both sides agree to the fen."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import OUT, log_in, new_page
from tests.helpers import TENANCIES_HEADER, write_csv
from tests.integration.test_bills import GRID, bill, import_bills
from towerledger.analysis.books import check_books
from towerledger.bills import services as bill_services
from towerledger.bills.models import Flag
from towerledger.settlement.models import Line
from towerledger.sites.models import Tenancy

pytestmark = pytest.mark.browser
D = Decimal


def amount(text: str) -> D:
    return D(re.search(r"-?[\d,]+\.\d{2}", text).group(0).replace(",", ""))


def june(account, bill_no, ref):
    today = timezone.localdate().isoformat()
    if account == "A-200":
        return [bill_no, "A-200", "2024-06-01", "2024-06-30", "", "", "", "", "3100", "0.62",
                "1922.00", "", "SPECIAL_13", today, ref]
    return [bill_no, "A-100", "2024-06-01", "2024-06-30", "14320", "18500", "1", "", "4180",
            "1.10", "4598.00", "", "GENERAL", today, ref]


# (account, site, the tenancy ended, its row, the operators left, the site's part of June)
FIXED_RATIO = ("A-200", "ZZ002", "T-ZZ002-CTCC",
               ["T-ZZ002-CTCC", "ZZ002", "CTCC", "2023-06-01", "2024-05-31", "RESALE", "",
                "1300", "20", "40"], {"CMCC"}, D("1345.40"))          # 70 % of 1,922.00

def terminate(clerk, tmp_path, row, name):
    path = write_csv(tmp_path / name, TENANCIES_HEADER, [row])
    clerk.click("nav >> text=导入")
    clerk.select_option("select[name=kind]", "tenancies")
    clerk.set_input_files("input[name=file]", str(path))
    clerk.fill("input[name=reason]", f"{row[0]} 服务终止 5/31")
    clerk.click("text=上传并导入")
    expect(clerk.locator("#job")).to_be_visible()
    expect(clerk.locator("#job progress")).to_have_count(0, timeout=30000)   # finished
    return Tenancy.objects.get(tenancy_id=row[0]).end_date == date(2024, 5, 31)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_terminate_reallocate_and_void_a_duplicate(browser, live_server, users, tmp_path):
    assert import_bills(tmp_path, [GRID], name="may.csv").stored   # paid, allocated

    # the clerk records a service termination through the import page
    clerk = new_page(browser)
    log_in(clerk, live_server, "clerk_zz")
    assert terminate(clerk, tmp_path, FIXED_RATIO[3], "服务终止.csv")
    account, site, ended, _, left, part = FIXED_RATIO
    clerk.screenshot(path=OUT / "41-clerk-terminates-tenancy.png", full_page=True)

    # June's bill allocates the site over the tenancies still active
    assert import_bills(tmp_path, [june(account, "J-2406", "PAY-J2406")],
                        name="june.csv").stored
    lines = Line.objects.filter(bill=bill(account, "J-2406"), site__site_code=site)
    assert not lines.filter(tenancy__tenancy_id=ended).exists()
    assert {ln.operator.code for ln in lines.filter(operator__isnull=False)} == left
    assert sum(ln.cost_share for ln in lines.filter(operator__isnull=False)) == part

    # a duplicate slips through: its blocking flags resolved, it is paid and allocated
    import_bills(tmp_path, [june(account, "J-2406-2", "PAY-J2406-2")], name="dup.csv")
    dup = bill(account, "J-2406-2")
    for f in Flag.objects.filter(bill=dup, status="OPEN", severity="BLOCK"):
        bill_services.resolve_flag(f.pk, users["admin"], "核实无误")
    dup.refresh_from_db()
    assert dup.status == "PAID"
    before = {ln.pk: ln for ln in Line.objects.current().filter(bill=dup)
              .select_related("operator", "tenancy")}
    assert before

    # the clerk voids it from the bill page: preview first, then confirm
    clerk.goto(f"{live_server.url}/bills/{dup.pk}/")
    clerk.click("#corrections >> text=冲销")
    clerk.fill("textarea[name=reason]", "重复缴费 J-2406")
    clerk.click("#preview")
    rows = clerk.locator("#preview-lines tr")
    expect(rows).to_have_count(len(before) + 2)   # header, lines, total
    clerk_saw = {}
    for ln in before.values():
        row = clerk.locator("#preview-lines tr", has_text=f"L{ln.pk}")
        cells = row.locator("td")
        clerk_saw[ln.pk] = amount(cells.nth(3).inner_text())
        assert clerk_saw[ln.pk] == ln.receivable
        assert amount(cells.nth(4).inner_text()) == D("0.00")
    clerk.screenshot(path=OUT / "42-clerk-void-preview.png", full_page=True)
    clerk.click("#apply")
    expect(clerk.locator(".messages")).to_contain_text("已推送")
    dup.refresh_from_db()
    assert dup.status == "VOID"
    assert check_books() == []

    # the operator sees each reversal line with the reason, the amounts the clerk saw
    op = new_page(browser)
    log_in(op, live_server, "cmcc")
    for old in (ln for ln in before.values() if ln.operator.code == "CMCC"):
        reversal = Line.objects.get(adjusts=old)
        op.goto(f"{live_server.url}/lines/{reversal.pk}/")
        expect(op.locator("#explanation")).to_contain_text("重复缴费 J-2406")
        assert amount(op.locator("#line-receivable").inner_text()) == D("0.00")
        op.goto(f"{live_server.url}/lines/{old.pk}/")
        assert amount(op.locator("#line-receivable").inner_text()) == clerk_saw[old.pk]
    op.screenshot(path=OUT / "43-operator-reversal-line.png", full_page=True)
