"""Settlement in a real browser: the operator confirms a line and disputes another with an
attachment, the city clerk answers the dispute in part, and both sides see the same
amounts to the fen. Screenshots go to test-output/browser/."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OUT
from tests.integration.test_settlement import lines_of, paid_may
from towerledger.settlement.models import Line

pytestmark = pytest.mark.browser
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")




def new_page(browser):
    return browser.new_context(viewport={"width": 1360, "height": 860},
                               locale="en-US").new_page()


def log_in(page, live_server, username, password="pw-Secret-123"):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button.btn")
    # home: the to-do list (待办) for those who have work, the overview (概览) for a viewer
    expect(page.locator("h1").first).to_have_text(re.compile("^(待办|概览)$"))


def amount(text: str) -> str:
    return re.search(r"-?[\d,]+\.\d{2}", text).group(0)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_operator_confirms_and_disputes_and_the_clerk_answers_in_part(
        browser, live_server, users, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    bill = paid_may(tmp_path, users)
    disputed = lines_of(bill)["T-ZZ001-CTCC"]
    confirmed = Line.objects.get(operator__code="CTCC", site__site_code="ZZ002")

    op = new_page(browser)
    log_in(op, live_server, "ctcc_zz")
    op.click("nav >> text=待确认明细")
    table = op.locator("table.data")
    expect(table).to_contain_text("T-ZZ001-CTCC")
    expect(table).not_to_contain_text("CMCC")
    expect(op.locator(".sums")).to_contain_text(
        f"{disputed.receivable + confirmed.receivable:,.2f}")
    op.screenshot(path=OUT / "11-operator-pending-lines.png", full_page=True)
    op.locator("tr", has_text="ZZ002").locator("input[name=ids]").check()
    op.click("button:has-text('确认所选')")
    expect(op.locator(".messages")).to_contain_text("已确认 1 条")
    expect(op.locator(".sums")).to_contain_text(f"{disputed.receivable:,.2f}")

    op.locator("tr", has_text="T-ZZ001-CTCC").locator("a").first.click()
    expect(op.locator("h1")).to_contain_text(f"L{disputed.pk}")
    expect(op.locator("#explanation")).to_contain_text("缴费单B-2405")
    operator_saw = amount(op.locator("#line-receivable").inner_text())
    assert operator_saw == f"{disputed.receivable:,.2f}"
    op.screenshot(path=OUT / "12-operator-line.png", full_page=True)
    photo = tmp_path / "电流表照片.png"
    photo.write_bytes(PNG)
    op.select_option("select[name=reason]", "RATIO")
    op.fill("textarea[name=comment]", "CTCC 实测直流电流 12A，不是 15A")
    op.set_input_files("input[name=attachment]", str(photo))
    op.click("button:has-text('提出争议')")
    expect(op.locator(".messages")).to_contain_text("已提出争议")
    expect(op.locator("h1")).to_contain_text("争议中")

    clerk = new_page(browser)
    log_in(clerk, live_server, "clerk_zz")
    clerk.click("nav >> text=争议处理")
    card = clerk.locator(".dispute", has_text=f"L{disputed.pk}")
    expect(card).to_contain_text("分摊比例不对")
    expect(card).to_contain_text("实测直流电流 12A")
    assert amount(card.locator("td.num strong").inner_text()) == operator_saw
    with clerk.expect_download() as got:
        card.locator("a:has-text('附件')").click()
    assert got.value.suggested_filename.endswith(".png")
    clerk.screenshot(path=OUT / "13-clerk-dispute-desk.png", full_page=True)
    card.locator("select[name=outcome]").select_option("PARTIAL")
    card.locator("input[name=new_amount]").fill("400.00")
    card.locator("input[name=explanation]").fill("按实测电流 12A 重新计算")
    clerk.once("dialog", lambda d: d.accept())   # the desk asks before sending an answer
    card.locator("button:has-text('提交处理')").click()
    expect(clerk.locator(".messages")).to_contain_text("应收 400.00 元")
    adj = Line.objects.get(kind="ADJUSTMENT", adjusts=disputed)
    clerk.goto(f"{live_server.url}/lines/{adj.pk}/")
    clerk_sees = amount(clerk.locator("#line-receivable").inner_text())
    clerk.goto(f"{live_server.url}/lines/?operator=CTCC")
    clerk_pending = clerk.locator(".sums").inner_text()

    op.goto(f"{live_server.url}/lines/")
    expect(op.locator("table.data")).to_contain_text(f"L{adj.pk}")
    operator_pending = op.locator(".sums").inner_text()
    op.locator("table.data a", has_text=f"L{adj.pk}").click()
    expect(op.locator("main")).to_contain_text(f"L{disputed.pk}")
    operator_sees = amount(op.locator("#line-receivable").inner_text())
    assert operator_sees == clerk_sees == "400.00"
    assert operator_pending == clerk_pending and "400.00" in operator_pending
    op.goto(f"{live_server.url}/lines/{disputed.pk}/")
    expect(op.locator("main")).to_contain_text("按实测电流 12A 重新计算")
    expect(op.locator("main")).to_contain_text("部分接受")
    op.screenshot(path=OUT / "14-operator-answered-line.png", full_page=True)

    op.click("nav >> text=待确认明细")
    op.click(".tabs >> text=历史记录")
    expect(op.locator("table.data")).to_contain_text("已调账")
    expect(op.locator("table.data")).to_contain_text("已确认")
    op.screenshot(path=OUT / "17-operator-history.png", full_page=True)
    clerk.click("nav >> text=争议处理")
    clerk.select_option("select[name=state]", "answered")
    clerk.click("button:has-text('筛选')")
    expect(clerk.locator(".dispute")).to_contain_text("部分接受")
    expect(clerk.locator(".dispute .answer")).to_contain_text("400.00")
    clerk.screenshot(path=OUT / "18-clerk-answered-disputes.png", full_page=True)

    clerk.click("nav >> text=站址台账")
    expect(clerk.locator("table.data")).to_contain_text("ZZ001")
    clerk.screenshot(path=OUT / "15-clerk-site-ledger.png", full_page=True)
    op.click("nav >> text=站址台账")
    op.screenshot(path=OUT / "16-operator-site-ledger.png", full_page=True)
    expect(op.locator("tr.total")).to_contain_text("400.00")
    expect(op.locator("tr.total")).to_contain_text(f"{confirmed.receivable:,.2f}")
