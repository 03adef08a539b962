"""Issue 17, stored XSS: script payloads go into every free-text field a user can set — through
the import page and import files where a user would, through the services (the pages' own
path) for dispute comments and answers, flag resolutions, withdrawals, invoices and manual
matches, and through the ORM for what only the Django admin edits (city, province and
operator names) or what another system may hand over (codes). Then the province admin opens
every page in headless chromium, twice:

* with the Content-Security-Policy bypassed: escaping alone must stop every payload;
* with the policy enforced: nothing ran, no dialog opened, and no page broke the policy —
  our own charts and scripts are CSP-clean (an ECharts canvas is drawn on the dashboard,
  the ageing and the bill pages), which a CSP violation would otherwise hide.

Payloads must fit their columns (a county name holds 40 characters), so each field gets the
longest that fits; a payload that does not run leaves ``window.__xss`` undefined."""

from datetime import timedelta

import pytest
from django.contrib import admin as django_admin
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import OUT
from tests.browser.test_settlement_flow import log_in
from tests.helpers import ACCOUNTS_HEADER, SITES_HEADER, write_csv
from tests.integration.test_bills import GRID, MAY, bill, import_bills
from towerledger.analysis.close import close_month
from towerledger.bills import services as bill_services
from towerledger.bills.models import Bill, Flag
from towerledger.collection import services as collection
from towerledger.collection.models import Receipt, Statement
from towerledger.exchange.models import ImportJob
from towerledger.exchange.services import run_import
from towerledger.ledger.models import MonthClose
from towerledger.org.models import City, County, Operator, Province
from towerledger.settlement import services as settlement
from towerledger.settlement.models import Dispute, Line
from towerledger.sites.models import Site, Tenancy

pytestmark = pytest.mark.browser

SCRIPT = "</script><script>window.__xss=1</script>"    # closes a <script> block: the issue
SHORT_SCRIPT = "</script><script>__xss=1</script>"     # the same in 33 characters
IMG = '<img src=x onerror="window.__xss=1">'            # 36: an attribute handler
SVG = '"><svg onload=window.__xss=1>'                    # 29: breaks out of an attribute
ALERT = "'-alert(1)-'<script>alert(1)</script>"          # a dialog, should anything run
LONG = SCRIPT + IMG + SVG + ALERT                        # 144: for the long text fields
NAME = (SCRIPT + IMG + SVG)[:120]                        # names hold 120


def last_month_end():
    return timezone.localdate().replace(day=1) - timedelta(days=1)


def upload(browser, live_server, username, path):
    page = browser.new_context(viewport={"width": 1360, "height": 860}).new_page()
    log_in(page, live_server, username)
    page.goto(f"{live_server.url}/imports/")
    page.select_option("select[name=kind]", "sites")
    page.set_input_files("input[name=file]", str(path))
    page.fill("input[name=reason]", LONG)
    page.click("text=上传并导入")
    expect(page.locator("#job")).to_contain_text("更新 1")
    page.context.close()


def seed(tmp_path, users, browser, live_server):
    """Every user-settable text, each holding a payload, through the paths users take."""
    clerk = users["clerk_zz"]
    # 1. sites through the import page, a payload as the file's name and as the reason: a
    #    county named </script><script>… (the issue's attack; only a province admin may
    #    create a county by import) and site names from a city clerk
    upload(browser, live_server, "admin", write_csv(
        tmp_path / "admin" / f"{SVG}.csv", SITES_HEADER,
        [["ZZ001", NAME, "河南省", "郑州市", SHORT_SCRIPT, "MACRO", "", "", "", "113.65",
          "34.76"]]))
    upload(browser, live_server, "clerk_zz", write_csv(
        tmp_path / "clerk" / f"{IMG}.csv", SITES_HEADER,
        [["ZZ002", IMG, "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""]]))
    assert County.objects.filter(name=SHORT_SCRIPT, city__name="郑州市").exists()
    assert Site.objects.get(site_code="ZZ002").site_name == IMG

    # 2. supplier names through the accounts import
    accounts = write_csv(tmp_path / "accounts.csv", ACCOUNTS_HEADER, [
        ["A-100", "RESUPPLY", "LANDLORD", NAME, "GENERAL", "1.10", "1.50", "1", "1", "ZZ001",
         "100"]])
    assert run_import("accounts", accounts, user=clerk).stored

    # 3. bills: May's is paid last month (so the closed month has figures), the grid bill
    #    arrives paid; a June bill above the price cap is held by a BLOCK flag
    june = ["B-2406", "A-100", "2024-06-01", "2024-06-30", "14320", "18500", "1", "", "4180",
            "1.80", "7524.00", "", "普通发票", "", ""]
    assert import_bills(tmp_path, [MAY, GRID, june]).stored
    may = bill("A-100", "B-2405")
    paid = bill_services.pay_bills([may.pk], clerk, last_month_end(), reason=LONG)
    assert paid.paid == [may.pk]
    flags = list(Flag.objects.filter(bill=bill("A-100", "B-2406"), status="OPEN"))
    assert flags, "the June bill should be flagged"
    bill_services.resolve_flag(flags[0].pk, clerk, LONG)

    # 4. the operator confirms one line and disputes two; the clerk answers one
    cmcc, ctcc = users["cmcc"], users["ctcc_zz"]
    settlement.confirm_lines(list(Line.objects.filter(operator__code="CMCC", status="PUSHED")
                                  .values_list("pk", flat=True)), cmcc)
    disputed = list(Line.objects.filter(operator__code="CTCC", status="PUSHED").order_by("pk"))
    assert len(disputed) == 2
    for ln in disputed:
        settlement.dispute_line(ln.pk, ctcc, "RATIO", comment=LONG)
    settlement.answer_dispute(Dispute.objects.get(line=disputed[0]).pk, clerk, "REJECT", LONG)

    # 5. statements: CMCC's confirmed with an invoice number, CUCC's withdrawn with a reason
    month = timezone.localdate().replace(day=1)
    cucc_user = users["cucc"]
    settlement.confirm_lines(list(Line.objects.filter(operator__code="CUCC", status="PUSHED")
                                  .values_list("pk", flat=True)), cucc_user)
    issued = {s.operator.code: s for s in collection.issue_statements(month, clerk)}
    collection.confirm_statement(issued["CMCC"].pk, cmcc)
    collection.record_invoice(issued["CMCC"].pk, clerk, IMG, timezone.localdate(),
                              issued["CMCC"].receivable)
    collection.withdraw_statement(issued["CUCC"].pk, clerk, LONG)

    # 6. receipts: one names the CMCC statement (matched on import), one names nothing and
    #    is matched by hand with a reason
    today = timezone.localdate().isoformat()
    receipts = write_csv(tmp_path / "receipts.csv", ["回款编号", "运营商", "地市", "金额",
                                                     "到账日期", "摘要"], [
        ["HK-X1", "CMCC", "郑州市", "10.00", today, f"{issued['CMCC'].number} {SCRIPT}{IMG}"],
        ["HK-X2", "CMCC", "郑州市", "5.00", today, NAME],
    ])
    assert run_import("receipts", receipts, user=clerk).stored
    loose = Receipt.objects.get(receipt_no="HK-X2")
    open_line = Line.objects.filter(operator__code="CMCC").order_by("pk").first()
    collection.manual_match(loose.pk, [open_line.pk], clerk, LONG)

    # 7. the month close, so the dashboard has a month to show
    close_month(last_month_end().replace(day=1), users["admin"])

    # 8. what only the Django admin edits, and codes another system may hand over
    City.objects.filter(name="洛阳市").update(name=IMG)
    County.objects.filter(name="西工区").update(name=SVG)
    Province.objects.update(name=SHORT_SCRIPT)
    Operator.objects.filter(code="CUCC").update(name=IMG)
    Tenancy.objects.filter(tenancy_id="T-ZZ001-CMCC").update(tenancy_id=SHORT_SCRIPT)
    Bill.objects.filter(pk=may.pk).update(payment_ref=NAME[:60])
    Receipt.objects.filter(receipt_no="HK-X1").update(receipt_no=NAME[:60])
    return {"statements": list(Statement.objects.values_list("pk", flat=True)),
            "bills": list(Bill.objects.values_list("pk", flat=True)),
            "lines": [ln.pk for ln in disputed] + [open_line.pk],
            "receipts": list(Receipt.objects.values_list("pk", flat=True))}


def page_urls(ids) -> list[str]:
    month = f"{last_month_end():%Y-%m}"
    urls = ["/", f"/dashboard/?month={month}", f"/dashboard/?month={month}&city=郑州市",
            f"/dashboard/?month={month}&city={IMG}"]
    urls += [f"/reports/{kind}/?month={month}" for kind in ("kpi", "sites", "tower", "prices")]
    urls += [f"/ageing/?by={by}" for by in ("operator", "city", "county", "site")]
    urls += ["/sites/", "/sites/ZZ001/", "/sites/ZZ002/", "/sites/LY001/", "/tenancies/",
             "/accounts/", "/bills/", "/flags/", "/lines/", "/lines/?tab=history",
             "/disputes/", "/disputes/?state=answered", "/ledger/", "/statements/",
             "/receipts/", "/reconcile/", "/audit-log/", "/close/", "/imports/"]
    urls += [f"/bills/{pk}/" for pk in ids["bills"]]
    urls += [f"/lines/{pk}/" for pk in ids["lines"]]
    urls += [f"/statements/{pk}/" for pk in ids["statements"]]
    urls += [f"/receipts/{pk}/" for pk in ids["receipts"]]
    urls += [f"/imports/{pk}/" for pk in ImportJob.objects.values_list("pk", flat=True)]
    urls += ["/admin/"] + [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist")
                           for m in django_admin.site._registry]
    county = County.objects.get(name=SHORT_SCRIPT)
    urls += [reverse("admin:org_county_change", args=[county.pk]), "/api/v1/docs"]
    return urls


def watch(context):
    """Record dialogs, page errors, console errors and CSP violations of every page."""
    seen = {"dialogs": [], "errors": [], "console": []}
    context.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation', function (e) {"
        "  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile"
        "                    + ':' + e.lineNumber); });")
    page = context.new_page()
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: m.type == "error" and seen["console"].append(m.text))
    return page, seen


def hover_charts(page):
    """Move over every chart so ECharts builds its HTML tooltips from the payload names."""
    for box in [c.bounding_box() for c in page.locator(".chart canvas").all()]:
        if box:
            for fx in (0.3, 0.5, 0.7):
                page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.6)
                page.wait_for_timeout(60)


def reconcile_with_payloads(page, live_server, tmp_path):
    """The reconciliation page echoes the operator's file: its name and its line ids."""
    theirs = write_csv(tmp_path / f"{IMG}.csv", ["明细编号", "金额", "月份"], [
        [SCRIPT, "1.00", "2024-05"], [IMG, "2.00", "2024-05"], [SVG, "3.00", "2024-05"]])
    page.goto(f"{live_server.url}/reconcile/")
    page.select_option("select[name=operator]", "CMCC")
    page.set_input_files("input[name=file]", str(theirs))
    # htmx fills the column selects from the chosen file; submitting before it has (a
    # loaded machine) sends no columns, and the page rightly asks for them
    expect(page.locator("#mapping select[name=col_line]")).to_have_value("明细编号")
    page.click("#reconcile-form button[type=submit]")
    expect(page.locator("#summary")).to_be_visible()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_no_payload_runs_for_the_province_admin_on_any_page(
        browser, live_server, users, tmp_path, settings):
    from tests.conftest import make_user
    from towerledger.access.models import Role

    settings.TOWERLEDGER_JOB_RUNNER = "sync"
    settings.MEDIA_ROOT = tmp_path / "media"
    users["cucc"] = make_user("cucc", Role.OPERATOR, operator=Operator.objects.get(code="CUCC"))
    ids = seed(tmp_path, users, browser, live_server)
    urls = page_urls(ids)
    assert len(urls) > 50

    for enforced in (False, True):
        context = browser.new_context(viewport={"width": 1360, "height": 860},
                                      bypass_csp=not enforced)
        page, seen = watch(context)
        log_in(page, live_server, "admin")
        problems = []
        for url in urls:
            response = page.goto(live_server.url + url)
            assert response.status == 200, (url, response.status)
            page.wait_for_load_state("load")
            hover_charts(page)
            if url == "/api/v1/docs":   # Swagger UI draws under the policy
                expect(page.locator("#swagger-ui .info")).to_be_visible()
            ran = page.evaluate("window.__xss")
            csp = page.evaluate("window.__csp")
            if ran is not None or seen["dialogs"] or seen["errors"] or (enforced and csp):
                problems.append((url, ran, list(seen["dialogs"]), list(seen["errors"]), csp))
            seen["dialogs"].clear()
            seen["errors"].clear()
        reconcile_with_payloads(page, live_server, tmp_path)
        assert page.evaluate("window.__xss") is None and not seen["dialogs"]
        assert not (enforced and page.evaluate("window.__csp"))

        # the charts drew under the policy: a canvas on the dashboard, ageing and bill pages
        month = f"{last_month_end():%Y-%m}"
        for url, chart in ((f"/dashboard/?month={month}&city=郑州市", "#chart-rank"),
                           (f"/dashboard/?month={month}", "#chart-trend"),
                           ("/ageing/?by=county", "#ageing-chart"),
                           (f"/bills/{ids['bills'][0]}/", "#chart")):
            page.goto(live_server.url + url)
            expect(page.locator(f"{chart} canvas")).to_have_count(1)
        page.goto(f"{live_server.url}/ageing/?by=county")
        expect(page.locator("table.data")).to_contain_text(SHORT_SCRIPT)   # shown as text
        hover_charts(page)   # the last position leaves the tooltip open on the screenshot
        page.screenshot(path=OUT / f"xss-ageing-by-county{'-csp' if enforced else ''}.png",
                        full_page=True)
        assert problems == [], problems
        assert not [m for m in seen["console"] if "Content Security Policy" in m], seen["console"]
        context.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_our_scripts_work_under_the_policy(browser, live_server, users):
    """What moved out of inline script still works with the policy enforced: htmx polls an
    import job and swaps the finished state in (allowEval off), and a data-confirm button
    asks first — dismissed, nothing is closed."""
    job = ImportJob.objects.create(kind="sites", filename=f"{SVG}.csv", stored_path="",
                                   status="RUNNING", stage="store", total=10, done=4)
    page, seen = watch(browser.new_context(viewport={"width": 1360, "height": 860}))
    log_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/imports/{job.pk}/")
    expect(page.locator("#job progress")).to_have_attribute("value", "40")
    ImportJob.objects.filter(pk=job.pk).update(status="DONE", rows=10, created=10,
                                               finished_at=timezone.now())
    expect(page.locator("#job")).to_contain_text("新增 10", timeout=5000)   # polled, swapped
    expect(page.locator("#job progress")).to_have_count(0)

    page.goto(f"{live_server.url}/close/")
    page.click("#close-form button")
    assert seen["dialogs"] and "关账" in seen["dialogs"][0]    # asked, and dismissed
    assert not MonthClose.objects.exists()
    assert page.evaluate("window.__csp") == [] and not seen["errors"]
    assert page.evaluate("window.__xss") is None
    page.context.close()
