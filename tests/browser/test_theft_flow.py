"""Issue 13 in a real browser: the clerk opens a theft case from an audit finding on the bill
page, confirms and remediates it, records a recovery; after the next months' bills are
imported paid and the province admin runs July's savings, the operator sees its recovery
credit and its savings share (效益分成) with their explanations, and the 降本增效 page shows
July's savings — every figure by hand, to the fen (docs/programs/theft.md)."""

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUT
from tests.browser.test_corrections_flow import log_in, new_page
from tests.integration.test_theft import KWH, import_bills
from towerledger.bills.models import Flag
from towerledger.programs.theft.models import Case
from towerledger.settlement.models import Line

pytestmark = pytest.mark.browser
D = Decimal


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_case_from_a_finding_to_shared_savings(browser, live_server, users, tmp_path):
    import_bills(tmp_path, KWH[:4], name="feb-may.csv")           # Feb–May 2024, paid
    flag = Flag.objects.get(bill__bill_no="B-2405", code="BENCH_DC")

    clerk = new_page(browser)
    log_in(clerk, live_server, "clerk_zz")
    clerk.goto(f"{live_server.url}/bills/{flag.bill_id}/")
    clerk.click(f"form[action='/programs/theft/from-flag/{flag.pk}/'] button")   # one click
    expect(clerk.locator("#case-state")).to_be_visible()
    case = Case.objects.get(flag=flag)
    assert (case.source, case.detected_on) == ("FLAG", date(2024, 6, 1))
    # baseline: Mar–May 2024, (9,455 + 8,850 + 9,610) kWh over 92 days = 303.4239 kWh/day
    expect(clerk.locator("#case-baseline")).to_contain_text("303.4239")
    for event, reason, on in (("INVESTIGATE", "现场核查", ""), ("CONFIRM", "发现私接线路", ""),
                              ("REMEDIATE", "拆除私接线路", "2024-06-05")):
        clerk.select_option("#case-move select[name=event]", event)
        if on:
            clerk.fill("#case-move input[name=on]", on)
        clerk.fill("#case-move input[name=reason]", reason)
        clerk.click("#case-move button")
        expect(clerk.locator("#case-events tr")).to_have_count(
            {"INVESTIGATE": 3, "CONFIRM": 4, "REMEDIATE": 5}[event])
    case.refresh_from_db()
    assert (case.state, case.remediated_on) == ("REMEDIATED", date(2024, 6, 5))
    clerk.fill("#case-recovery input[name=amount]", "1000.00")
    clerk.fill("#case-recovery input[name=received_on]", "2024-06-20")
    clerk.fill("#case-recovery input[name=payer]", "业主 张某")
    clerk.fill("#case-recovery input[name=reference]", "ZJ-2024-07")
    clerk.click("#case-recovery button")
    expect(clerk.locator("#recovery-ZJ-2024-07")).to_contain_text("-559.55")
    clerk.screenshot(path=OUT / "60-theft-case.png", full_page=True)

    import_bills(tmp_path, KWH[4:6], name="jun-jul.csv")          # June and July, paid
    admin = new_page(browser)
    log_in(admin, live_server, "admin")
    admin.goto(f"{live_server.url}/programs/theft/")
    admin.fill("#theft-run input[name=month]", "2024-07")
    admin.click("#theft-run button")
    expect(admin.locator(".messages")).to_contain_text("3 share lines")

    # July: (303.4239 − 250.0000) × 31 × 1.10 = 1,821.75; the tower's 50 % = 910.88 over the
    # cost shares of July's bill (4,262.50 / 2,664.06 / 1,598.44): CMCC 455.44
    share = Line.objects.get(kind="SAVINGS_SHARE", operator__code="CMCC")
    credit = Line.objects.get(kind="RECOVERY_CREDIT", operator__code="CMCC")
    assert (share.receivable, credit.receivable) == (D("455.44"), D("-559.55"))
    assert sum(Line.objects.filter(kind="SAVINGS_SHARE").values_list("receivable", flat=True)
               ) == D("910.88")

    cmcc = new_page(browser)
    log_in(cmcc, live_server, "cmcc")
    cmcc.goto(f"{live_server.url}/lines/?kind=SAVINGS_SHARE")
    expect(cmcc.locator("body")).to_contain_text("455.44")
    cmcc.goto(f"{live_server.url}/lines/{share.pk}/")
    expect(cmcc.locator("#explanation")).to_contain_text("1821.75")
    expect(cmcc.locator("#explanation")).to_contain_text("303.4239")
    expect(cmcc.locator("#explanation")).to_contain_text("455.44")
    cmcc.screenshot(path=OUT / "61-operator-savings-share.png", full_page=True)
    cmcc.goto(f"{live_server.url}/lines/{credit.pk}/")
    expect(cmcc.locator("#explanation")).to_contain_text("1000.00")
    expect(cmcc.locator("#explanation")).to_contain_text("559.55")   # 55.96 % of 1,000.00
    cmcc.goto(f"{live_server.url}/programs/savings/?first=2024-06&last=2024-07")
    # the operator's part of July's saving: 1,821.75 × its cost share 50 % = 910.88
    expect(cmcc.locator("tr[data-month='2024-07']")).to_contain_text("910.88")
    expect(cmcc.locator("#savings-ranking")).to_have_count(0)

    admin.goto(f"{live_server.url}/programs/savings/?first=2024-06&last=2024-07")
    july = admin.locator("tr[data-month='2024-07']")
    expect(july).to_contain_text("1,821.75")
    expect(july).to_contain_text("910.88")
    expect(admin.locator("#savings-recovered")).to_contain_text("1,000.00")
    admin.screenshot(path=OUT / "62-savings-page.png", full_page=True)
    assert re.search(r"1,821\.75", admin.content())
