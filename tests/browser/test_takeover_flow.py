"""Issue 15 in a real browser: at take-over the province admin imports a legacy ledger (GBK
CSV, Chinese headers) and its unapplied cash through /imports/; the ageing page shows the
old arrears in their old buckets (their original push dates); the take-over
reconciliation ties to the fen and the finance manager signs it off."""


import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUT, log_in, new_page
from tests.helpers import write_csv
from tests.integration.test_history import HEADER_ZH, LEGACY, UNAPPLIED, UNAPPLIED_HEADER
from towerledger.analysis.books import check_books
from towerledger.programs.history.models import SignOff

pytestmark = pytest.mark.browser


def upload(page, live_server, kind, path):
    page.goto(f"{live_server.url}/imports/")
    page.select_option("select[name=kind]", kind)
    page.set_input_files("input[name=file]", str(path))
    page.fill("input[name=reason]", "接管 take-over")
    page.click("text=上传并导入")
    expect(page.locator("#job")).to_be_visible()
    expect(page.locator("#job progress")).to_have_count(0, timeout=30000)   # finished


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_take_over_shows_old_arrears_and_ties_to_the_fen(browser, live_server, users, tmp_path):
    admin = new_page(browser)
    log_in(admin, live_server, "admin")
    upload(admin, live_server, "legacy_ledger",
           write_csv(tmp_path / "历史台账.csv", HEADER_ZH, LEGACY, encoding="gbk"))
    upload(admin, live_server, "legacy_unapplied",
           write_csv(tmp_path / "历史预收.csv", UNAPPLIED_HEADER, UNAPPLIED, encoding="gbk"))
    admin.screenshot(path=OUT / "151-takeover-import.png", full_page=True)
    assert check_books() == []

    # ageing as of 2024-06-30: the line pushed 2023-03-10 is over 365 days old
    admin.goto(f"{live_server.url}/ageing/?by=operator&as_of=2024-06-30")
    expect(admin.locator("#ageing-total")).to_have_text("2,600.00")
    cmcc = admin.locator("table.data tr", has_text="CMCC")
    cells = cmcc.locator("td")
    expect(cells.nth(7)).to_have_text("1,200.00")      # > 365 days
    expect(cells.nth(3)).to_have_text("500.00")        # 31–60 days (pushed 2024-05-08)
    expect(cells.nth(2)).to_have_text("300.00")        # 0–30 days
    expect(cells.nth(8)).to_have_text("2,000.00")
    admin.screenshot(path=OUT / "152-takeover-ageing.png", full_page=True)

    # the reconciliation ties to the fen; the finance manager signs it off
    admin.goto(f"{live_server.url}/programs/history/")
    expect(admin.locator("#tie-result")).to_have_text("一致 ties")
    total = admin.locator("#grand-total")
    expect(total).to_have_attribute("data-ties", "1")
    expect(total.locator("[data-fig=pushed-legacy]")).to_have_text("3,800.00")
    expect(total.locator("[data-fig=pushed-imported]")).to_have_text("3,800.00")
    expect(total.locator("[data-fig=outstanding-imported]")).to_have_text("2,450.00")
    expect(total.locator("[data-fig=unapplied-imported]")).to_have_text("250.00")
    for fig in ("pushed", "confirmed", "written_off", "outstanding", "unapplied"):
        expect(total.locator(f"[data-fig={fig}-diff]")).to_have_text("0.00")
    expect(admin.locator("tr[data-ties='0']")).to_have_count(0)
    expect(admin.locator("#journal-tie")).to_contain_text("2,200.00")
    admin.fill("#sign-off input[name=note]", "接管对账无差异，同意 ties to the fen")
    admin.click("#sign-off button")
    expect(admin.locator("#sign-offs")).to_contain_text("接管对账无差异")
    admin.screenshot(path=OUT / "153-takeover-reconciliation.png", full_page=True)
    s = SignOff.objects.get()
    assert s.ties and s.signed_by.username == "admin"
