"""Screenshots of the demo for the README and the user guide (docs/screenshots/).

Run against a served demo (`make demo`, or `towerledger demo --no-serve` then
`towerledger serve`):  .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000
"""

import re
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def log_in(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-Demo-2026")
    page.click("button.btn")
    page.wait_for_url(re.compile(r".*/$"))


def main(base: str):
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page = ctx.new_page()
        page.goto(f"{base}/login/")
        page.screenshot(path=OUT / "login.png")
        log_in(page, base, "admin")
        page.screenshot(path=OUT / "home.png", full_page=True)
        page.goto(f"{base}/flags/?severity=BLOCK")
        page.screenshot(path=OUT / "audit-queue.png")
        href = page.locator("table.data a[href*='/bills/']").first.get_attribute("href")
        page.goto(f"{base}{href}")
        page.wait_for_timeout(800)  # the chart animates in
        page.screenshot(path=OUT / "bill.png", full_page=True)
        page.goto(f"{base}/sites/")
        page.screenshot(path=OUT / "sites.png")
        page.goto(f"{base}/imports/")
        page.screenshot(path=OUT / "imports.png", full_page=True)
        page.goto(f"{base}/dashboard/")
        page.wait_for_function("document.querySelector('#chart-trend canvas') !== null")
        page.wait_for_timeout(1200)   # the charts animate in
        page.screenshot(path=OUT / "dashboard.png", full_page=True)
        page.goto(f"{base}/disputes/?state=all")
        page.screenshot(path=OUT / "disputes.png")
        page.goto(f"{base}/statements/")
        page.screenshot(path=OUT / "statements.png")
        page.goto(f"{base}/ageing/?by=city")
        page.wait_for_timeout(1200)
        page.screenshot(path=OUT / "ageing.png", full_page=True)
        page.goto(f"{base}/programs/savings/")               # 降本增效: the programs' savings
        page.screenshot(path=OUT / "savings.png", full_page=True)
        page.goto(f"{base}/programs/quality/")               # 资源数据: the scorecard and its trend
        page.wait_for_timeout(1200)
        page.screenshot(path=OUT / "data-quality.png", full_page=True)
        ctx.close()
        ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page = ctx.new_page()
        log_in(page, base, "cmcc")
        page.goto(f"{base}/tenancies/")
        page.screenshot(path=OUT / "operator-tenancies.png")
        page.goto(f"{base}/lines/")
        page.screenshot(path=OUT / "operator-portal.png")
        href = page.locator("table.data a[href^='/lines/']").first.get_attribute("href")
        page.goto(f"{base}{href}")
        page.screenshot(path=OUT / "operator-line.png", full_page=True)
        browser.close()
    print(f"screenshots → {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
