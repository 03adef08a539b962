"""Issue 15 in a real browser: the province admin closes June 2024 on the close page; the
close posts the month's accruals (the worked example of docs/programs/accruals.md: A-200,
1,264.67 over ZZ002 and ZZ003); the accruals page lists them with their inputs and the
city totals; the GL export downloaded from its page balances per voucher and in total and
ties to the journal."""

import csv
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUT
from tests.browser.test_corrections_flow import log_in, new_page
from tests.integration.test_accruals import WORKED
from tests.integration.test_bills import import_bills
from towerledger.ledger.models import MonthClose
from towerledger.programs.accruals import gl

pytestmark = pytest.mark.browser
D = Decimal


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_close_posts_accruals_listed_and_gl_export_balances(browser, live_server, users,
                                                            tmp_path):
    rows = [list(r) for r in WORKED]
    rows[2][13], rows[2][14] = "2024-06-05", "PAY-G05"      # May's grid bill paid in June
    assert import_bills(tmp_path, rows, name="june.csv").stored

    admin = new_page(browser)
    log_in(admin, live_server, "admin")
    admin.goto(f"{live_server.url}/close/")
    admin.select_option("#close-form select[name=month]", "2024-06")
    admin.once("dialog", lambda d: d.accept())
    admin.click("#close-form button")
    expect(admin.locator("#closes")).to_contain_text("已关账", timeout=30000)
    assert MonthClose.objects.get(month=date(2024, 6, 1)).status == "CLOSED"

    # the accruals page, from the programs hub
    admin.goto(f"{live_server.url}/programs/")
    admin.click('main a[href="/programs/accruals/"]')
    admin.fill("#accruals-filters input[name=month]", "2024-06")
    admin.click("#accruals-filters button")
    row = admin.locator('#accruals tr[data-account="A-200"]')
    expect(row).to_contain_text("1,264.67")
    expect(row).to_contain_text("ZZ002")
    expect(row).to_contain_text("885.27")
    expect(row).to_contain_text("379.40")
    expect(row).to_contain_text("97.2826")
    expect(row.locator("td.reversed")).to_contain_text("2024-07-01")
    expect(admin.locator('#accrual-cities tr[data-city="郑州市"]')).to_contain_text("1,264.67")
    expect(admin.locator('#accruals tr[data-account="A-300"]')).to_contain_text("no bills")
    admin.screenshot(path=OUT / "accruals-01-list.png", full_page=True)

    # the GL export from its page: CSV downloaded and parsed
    admin.click("text=总账凭证 GL export")
    with admin.expect_download() as info:
        admin.click("#gl-csv")
    path = tmp_path / "gl.csv"
    info.value.save_as(path)
    admin.screenshot(path=OUT / "accruals-02-gl.png", full_page=True)
    with path.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    header, lines, footer = table[0], table[1:-1], table[-1]
    assert header[11:] == ["借方 debit", "贷方 credit"] and footer[0] == "合计 Total"
    vouchers, accounts = {}, {}
    for ln in lines:
        d, c = D(ln[11]), D(ln[12])
        vouchers.setdefault(ln[0], [D(0), D(0)])
        vouchers[ln[0]][0] += d
        vouchers[ln[0]][1] += c
        accounts.setdefault(ln[5], [D(0), D(0)])
        accounts[ln[5]][0] += d
        accounts[ln[5]][1] += c
    assert vouchers and all(d == c for d, c in vouchers.values())
    assert D(footer[11]) == D(footer[12]) == sum(v[0] for v in vouchers.values())
    assert accounts["ACCRUAL_COST"] == [D("1264.67"), D("0.00")]
    assert accounts == {a: [d, c] for a, (d, c) in gl.journal_totals(date(2024, 6, 1)).items()}
    expect(admin.locator("#gl-debit")).to_have_text(f"{D(footer[11]):,.2f}")
