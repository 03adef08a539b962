"""BLOCK first everywhere: the audit queue sorts open findings BLOCK before WARN (as text,
"WARN" > "BLOCK", so sorting by severity descending put every warning first), then the
oldest bill first; it filters by rule; a finding's figures read in words with units on the
queue, the bill page and the line page; the bill page says in visible text why 支付 is
disabled."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.integration.test_bills import MAY, import_bills
from tests.web.test_pages import login
from towerledger.bills.models import Bill, Flag
from towerledger.domain.audits import RULE_LABELS, describe_figures

D = Decimal
# May at 1.80 yuan/kWh: above the contract price (WARN) and above the cap 1.50 (BLOCK)
DEAR_MAY = [*MAY[:9], "1.80", "7776.00", *MAY[11:]]


@pytest.fixture
def queue(users, tmp_path):
    """The dear May bill (PRICE_CAP BLOCK, PRICE_CONTRACT WARN), behind 60 older bills with
    a warning each — enough that a queue sorted WARN first shows no BLOCK on page one."""
    assert import_bills(tmp_path, [DEAR_MAY]).stored
    dear = Bill.objects.get()
    for i in range(60):
        old = Bill.objects.create(account=dear.account, bill_no=f"OLD-{i:02d}",
                                  period_start=date(2023, 1, 1), period_end=date(2023, 1, 31),
                                  kwh=D(100), unit_price=D("1.10"), amount=D("110.00"),
                                  status=Bill.Status.PAID, warnings=1)
        Flag.objects.create(bill=old, code="MOM", severity="WARN", message_zh="环比异常",
                            message_en="against the previous bill",
                            figures={"benchmark": "10.00", "actual": "25.00",
                                     "threshold": "±50%", "deviation_pct": "150.0",
                                     "new_tenancy": False})
    return dear


def severities(response) -> list[str]:
    return [row["cells"][0]["text"] for row in response.context["rows"]]


def test_block_findings_come_first_and_fill_the_first_page(queue, users):
    c = login(users["clerk_zz"])
    r = c.get(reverse("flags"))
    order = severities(r)
    assert order[0] == "BLOCK" and order.count("BLOCK") == 1
    assert order == sorted(order, key=lambda s: s != "BLOCK")   # every BLOCK before any WARN
    first = r.context["rows"][0]["cells"]
    assert first[1]["text"].startswith("PRICE_CAP") and first[2]["text"] == queue.bill_no
    # then by age: the 2023 warnings before May 2024's
    bills = [row["cells"][2]["text"] for row in r.context["rows"][1:]]
    assert bills[0].startswith("OLD-") and len(bills) == 49
    # a resolved BLOCK goes behind the open findings
    Flag.objects.filter(code="PRICE_CAP").update(status=Flag.Status.RESOLVED)
    assert severities(c.get(reverse("flags")))[0] == "WARN"


def test_the_queue_filters_by_rule(queue, users):
    c = login(users["clerk_zz"])
    r = c.get(reverse("flags") + "?rule=PRICE_CONTRACT")
    assert [row["cells"][1]["text"].split()[0] for row in r.context["rows"]] == ["PRICE_CONTRACT"]
    codes = {v for v, _label in next(f for f in r.context["filters"]
                                     if f["name"] == "rule")["choices"]}
    assert set(RULE_LABELS) <= codes
    assert len(c.get(reverse("flags") + "?rule=MOM").context["rows"]) == 50   # a page


def test_figures_read_in_words_with_units(queue, users):
    c = login(users["clerk_zz"])
    body = c.get(reverse("flags") + "?rule=PRICE_CAP").content.decode()
    assert "单价上限 1.5000 元/kWh" in body and "账单单价 1.8000 元/kWh" in body
    assert "偏差 +20.0%" in body and "benchmark:" not in body and "deviation_pct" not in body
    mom = c.get(reverse("flags") + "?rule=MOM").content.decode()
    assert "上期日均 10.00 kWh/天" in mom and "期间无新增租户" in mom and "new_tenancy" not in mom
    c.post(reverse("set_language"), {"language": "en", "next": "/"})
    en = c.get(reverse("flags") + "?rule=MOM").content.decode()
    assert "previous bill 10.00 kWh/day" in en and "no new tenancy in the period" in en
    # the bill page: BLOCK first, the same words, and why 支付 is disabled in visible text
    c.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = c.get(reverse("bill", args=[queue.pk]))
    assert [i["flag"].severity for i in page.context["flags"]][0] == "BLOCK"
    text = page.content.decode()
    assert "单价上限 1.5000 元/kWh" in text and "benchmark:" not in text
    assert 'disabled aria-describedby="pay-held"' in text
    assert "已拦截：须先处理或加白下方 1 项阻断类发现才能支付" in text


def test_every_rules_figures_have_words_and_units():
    for code in ("BENCH_RATED", "BENCH_DC", "BENCH_SMART", "READING_MISMATCH"):
        zh = describe_figures(code, {"benchmark": "2300.5", "actual": "4320.00",
                                     "deviation_pct": "87.8", "threshold": "+20%"})
        assert [p[0].split()[-1] for p in zh[:2]] == ["kWh", "kWh"], code
        assert zh[2] == ("偏差 +87.8%", "deviation +87.8%")
    assert describe_figures("AMOUNT_MISMATCH", {"threshold": "1 元 & 0.5%"}) == [
        ("阈值 1 元 且 0.5%", "threshold 1 yuan and 0.5%")]
    assert describe_figures("GAP", {"gap_days": 5}) == [("断档 5 天", "uncovered 5 days")]
    assert describe_figures("YOY", {"benchmark": "100", "actual": "140"})[0] == (
        "去年同期日均 100 kWh/天", "same period last year 100 kWh/day")
    # a key no rule knows reads as it is, never dropped
    assert describe_figures("SOMETHING_NEW", {"odd": "x"}) == [("odd x", "odd x")]
    # an allocation finding names its sites
    assert describe_figures("FALLBACK", {"sites": [{"site": "ZZ001", "message": "m"}],
                                         "source": "allocation"})[0] == ("站址 ZZ001",
                                                                         "sites ZZ001")


def test_the_queue_pages_by_id_as_the_plain_order(queue, users):
    """The queue asks each page's ids first (web.tables.ById), then their findings: every
    page, at any bounds, is the plain ordered query's slice, rows and their related ones."""
    from towerledger.access.scope import scoped
    from towerledger.web.bills import queue_order
    from towerledger.web.tables import ById

    for name in ("admin", "clerk_zz", "clerk_ly"):
        plain = queue_order(scoped(users[name], Flag.objects.select_related(
            "bill__account", "assignee")))
        everything = list(plain)
        by_id = ById(plain)
        assert by_id.count() == len(everything) and (everything or name == "clerk_ly")
        for size in (1, 7, 50):
            for start in range(0, len(everything) + 1, 5):
                part = by_id[start:start + size]
                assert [(f.pk, f.bill.bill_no, f.bill.account.account_no) for f in part] == [
                    (f.pk, f.bill.bill_no, f.bill.account.account_no)
                    for f in everything[start:start + size]], (name, start, size)
        r = login(users[name]).get(reverse("flags"))
        assert [row["cells"][2]["text"] for row in r.context["rows"]] == [
            f.bill.bill_no for f in everything[:50]], name
