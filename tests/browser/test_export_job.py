"""A large download in a real browser (issue 16): the operator's XLSX button on the lines
page starts a background job; the page shows its progress through the static htmx polling
(the CSP allows no inline script), then a link; the file holds the operator's lines only."""

import io

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.browser.test_settlement_flow import log_in, new_page
from tests.integration.test_settlement import paid_may
from towerledger.settlement.models import Line

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_operator_downloads_its_lines_through_a_background_job(
        browser, live_server, users, tmp_path, settings):
    settings.TOWERLEDGER_JOB_RUNNER = "thread"     # as the demo runs it
    paid_may(tmp_path, users)
    mine = set(Line.objects.filter(operator__code="CMCC").values_list("pk", flat=True))
    assert mine and Line.objects.exclude(operator__code="CMCC").exists()
    page = new_page(browser)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, live_server, "cmcc")
    page.goto(f"{live_server.url}/lines/")
    page.click("text=下载 XLSX")
    link = page.locator("#export-file")
    expect(link).to_be_visible(timeout=30_000)
    with page.expect_download() as info:
        link.click()
    book = openpyxl.load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))
    rows = list(book.active.values)
    assert rows[0][0] == "line_id"
    got = {int(str(r[0]).lstrip("L")) for r in rows[1:]}
    assert got and got <= mine and {r[7] for r in rows[1:]} == {"CMCC"}
    # the same rows as the direct download of the same list
    direct = page.request.get(f"{live_server.url}/lines/export/")
    assert list(openpyxl.load_workbook(io.BytesIO(direct.body())).active.values) == rows
    assert not [e for e in errors if "Content Security Policy" in e], errors
