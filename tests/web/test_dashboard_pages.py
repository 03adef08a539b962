"""The monthly-analysis pages on the small province, with snapshots built through the real
path (import, pay, allocate, close): each role sees only its scope (an operator never sees
another operator's figures, a clerk never another city), KPI formulas as tooltips, XLSX
formula-safe, the month close only for the province admin and run as a job, and the
dashboard reading only a few hundred snapshot rows, fast."""

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.integration.test_analysis import MAY1, may_paid  # noqa: F401
from tests.integration.test_bills import MAY, bill, import_bills
from tests.web.test_pages import login
from towerledger.analysis import close as closing
from towerledger.analysis.models import CloseJob, Snapshot
from towerledger.bills import services as bill_services
from towerledger.exchange.models import ImportJob
from towerledger.ledger.models import MonthClose
from towerledger.org.models import County

D = Decimal
FORMULA = '=HYPERLINK("http://evil.example","x")'


def money(x) -> str:
    return f"{D(str(x)):,.2f}"


def get(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code)
    return r


def xlsx_rows(response):
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(book.active.values)


@pytest.fixture
def closed(may_paid):  # noqa: F811
    """May closed, its county renamed first to a formula (the XLSX must defuse it)."""
    County.objects.filter(name="金水区").update(name=FORMULA)
    closing.close_month(MAY1, as_of=date(2024, 6, 15))
    return Snapshot.objects.filter(month=MAY1)


def pushed(operator, level="PROVINCE"):
    return Snapshot.objects.get(month=MAY1, level=level, operator=operator) \
        .figures["chains_amount"]


def test_the_open_month_shows_live_and_marked_provisional(may_paid, users):  # noqa: F811
    """Before May is closed the dashboard shows May's live figures, marked provisional with
    the day they are as of — never silently the last closed month (issue 11)."""
    from towerledger.analysis import live

    admin = login(users["admin"])
    r = get(admin, reverse("dashboard"))
    assert r.context["month"] is None and "towerledger deadlines" in r.content.decode()
    live.refresh(date(2024, 5, 31), months=[MAY1])
    r = get(admin, reverse("dashboard"))
    body = r.content.decode()
    assert r.context["month"] == MAY1 and r.context["provisional_as_of"] == date(2024, 5, 31)
    assert 'id="provisional"' in body and "2024-05-31" in body
    assert money(pushed("*")) in body
    closing.close_month(MAY1, as_of=date(2024, 6, 15))
    r = get(admin, reverse("dashboard"))
    assert r.context["month"] == MAY1 and r.context["provisional_as_of"] is None
    assert 'id="provisional"' not in r.content.decode()


def test_admin_dashboard_shows_the_province_its_cities_and_formulas(closed, users):
    admin = login(users["admin"])
    r = get(admin, reverse("dashboard"))
    body = r.content.decode()
    assert r.context["month"] == MAY1 and r.context["scope"].operator == "*"
    assert "郑州市" in body and money(pushed("*")) in body
    # every KPI carries its formula as a tooltip (docs/user-guide.md "KPI formulas")
    for text in ("当月按缴费周期应有账单且已缴费的电表户数", "在缴费当天推送的明细条数",
                 "推送金额，截至报表日", "已核销回款 ÷ 收到回款", "存量比流量"):
        assert text in body, text
    assert body.count('class="kpi-help"') >= 7
    # the charts' data: trend, ranking (click-through to the city), ageing, prices, flags
    charts = r.context["charts"]
    assert charts["trend"]["months"] == ["2024-05"]
    assert charts["rank"]["keys"] == ["郑州市"]
    assert charts["rank"]["urls"][0] == reverse("dashboard") + "?city=%E9%83%91%E5%B7%9E%E5%B8%82"
    assert sum(charts["prices"]["series"][1]["data"]) == 1        # one resupply bill
    assert {s["name"] for s in charts["ageing"]["series"]} >= {"0–30", "> 365"}
    # a city → its counties → the county's sites → lines
    city = get(admin, reverse("dashboard") + "?city=郑州市")
    assert city.context["scope"].city == "郑州市"
    county_url = city.context["charts"]["rank"]["urls"][0]
    assert "/reports/sites/" in county_url
    sites = get(admin, county_url).content.decode()
    assert "ZZ001" in sites and "/lines/?site=ZZ001" in sites
    assert "LY001" not in sites


def test_operator_sees_its_own_figures_only(closed, users):
    mine, theirs, everyone = pushed("CMCC"), pushed("CTCC"), pushed("*")
    assert len({mine, theirs, everyone}) == 3
    op = login(users["cmcc"])
    for url in (reverse("dashboard"), reverse("dashboard") + "?operator=CTCC",
                reverse("report", args=["kpi"]), reverse("report", args=["kpi"])
                + "?operator=*"):
        r = get(op, url)
        body = r.content.decode()
        assert r.context["scope"].operator == "CMCC", url
        assert money(mine) in body, url
        assert money(theirs) not in body and money(everyone) not in body, url
        assert "支付完成率" not in body          # bill-side: the tower's own figures
    rows = xlsx_rows(get(op, reverse("report", args=["kpi"]) + "?format=xlsx"))
    flat = [v for row in rows for v in row]
    assert float(D(str(mine))) in flat
    assert float(D(str(theirs))) not in flat and float(D(str(everyone))) not in flat
    for kind in ("tower", "prices"):          # all-operator figures: not for operators
        get(op, reverse("report", args=[kind]), status=404)
    # the all-operator site report sends an operator to its own sites (issue 16)
    assert get(op, reverse("report", args=["sites"]), status=302).headers["Location"] \
        == reverse("report", args=["mysites"])
    get(op, reverse("month_close"), status=404)
    # an operator user of one city: that city and operator only
    ctcc = get(login(users["ctcc_zz"]), reverse("dashboard") + "?city=洛阳市&operator=CMCC")
    assert ctcc.context["scope"].city == "郑州市" and ctcc.context["scope"].operator == "CTCC"
    assert money(pushed("CTCC", "CITY")) in ctcc.content.decode()
    assert money(mine) not in ctcc.content.decode()


def test_clerk_sees_their_city_only(closed, users):
    zz = get(login(users["clerk_zz"]), reverse("dashboard") + "?city=洛阳市")
    assert zz.context["scope"].city == "郑州市"
    assert "洛阳市" not in zz.content.decode()
    assert [r["name"] for r in zz.context["table"]] == [FORMULA]     # its counties
    ly = login(users["clerk_ly"])
    for url in (reverse("dashboard"), reverse("dashboard") + "?city=郑州市",
                reverse("report", args=["kpi"]) + "?city=郑州市",
                reverse("report", args=["sites"]), reverse("report", args=["tower"])):
        body = get(ly, url).content.decode()
        assert "郑州市" not in body and "ZZ001" not in body and money(pushed("*")) not in body, url
    viewer = get(login(users["viewer"]), reverse("dashboard"))
    assert money(pushed("*")) in viewer.content.decode()


def test_reports_and_formula_safe_xlsx(closed, users):
    admin = login(users["admin"])
    for kind in ("kpi", "sites", "tower", "prices"):
        r = get(admin, reverse("report", args=[kind]) + "?month=2024-05")
        assert r.context["rows"], kind
        rows = xlsx_rows(get(admin, reverse("report", args=[kind]) + "?format=xlsx"))
        assert len(rows) > 1, kind
    kpi = xlsx_rows(get(admin, reverse("report", args=["kpi"]) + "?city=郑州市&format=xlsx"))
    names = [row[0] for row in kpi[1:]]
    assert names == ["郑州市", "'" + FORMULA]              # defused, not a formula
    sites = xlsx_rows(get(admin, reverse("report", args=["sites"]) + "?format=xlsx"))
    zz001 = next(row for row in sites if row[0] == "ZZ001")
    f = Snapshot.objects.get(month=MAY1, level="SITE", key="ZZ001").figures
    assert zz001[2] == float(D(str(f["paid_amount"]))) == 4752.0
    assert zz001[3] == float(D(str(f["chains_amount"])))
    # tower-borne cost and its causes; price bands by supply mode
    tower = get(admin, reverse("report", args=["tower"])).context["rows"]
    assert tower[0]["name"] == "河南省"
    prices = xlsx_rows(get(admin, reverse("report", args=["prices"]) + "?format=xlsx"))
    assert prices[1][0] == "河南省" and sum(v for v in prices[1][1:7]) == 1


def test_an_operator_sees_its_own_sites_report_and_nothing_else(closed, users):
    """Site snapshots hold all-operator figures only; an operator's site report is its own
    lines of the month, live, and staff do not get that tab (nor operators the staff one)."""
    from django.db.models import Sum

    from towerledger.settlement.models import Line

    cmcc = login(users["cmcc"])
    # the staff's site report sends an operator to its own (issue 16: it was a dead-end 404)
    moved = get(cmcc, reverse("report", args=["sites"]) + "?month=2024-05", status=302)
    assert moved.headers["Location"] == reverse("report", args=["mysites"]) + "?month=2024-05"
    get(login(users["admin"]), reverse("report", args=["mysites"]) + "?month=2024-05",
        status=404)
    r = get(cmcc, reverse("report", args=["mysites"]) + "?month=2024-05")
    mine = Line.objects.filter(operator__code="CMCC").exclude(status__in=["TOWER",
                                                                          "SUPERSEDED"])
    assert [row["name"] for row in r.context["rows"]] == sorted(
        set(mine.values_list("site__site_code", flat=True)))
    row = r.context["rows"][0]
    lines = mine.filter(site__site_code=row["name"])
    pushed = lines.aggregate(s=Sum("receivable"))["s"]
    assert row["cells"][0] == ("int", lines.count())
    assert row["cells"][1] == ("money", pushed) and row["cells"][-1] == ("money", pushed)
    body = r.content.decode()
    assert "我的站址月度明细" in body or "My sites (month)" in body
    xlsx = xlsx_rows(get(cmcc, reverse("report", args=["mysites"]) + "?month=2024-05&format=xlsx"))
    assert xlsx[1][0] == row["name"] and xlsx[1][3] == float(pushed)
    # the city selector narrows it
    zz = get(cmcc, reverse("report", args=["mysites"]) + "?month=2024-05&city=郑州市")
    assert zz.context["rows"] and {row["parent"] for row in zz.context["rows"]} == {"郑州市"}
    ly = get(cmcc, reverse("report", args=["mysites"]) + "?month=2024-05&city=洛阳市")
    assert not mine.filter(city__name="洛阳市").exists() and ly.context["rows"] == []
    # the same selector works on its dashboard and KPI table (it used to be ignored)
    get(cmcc, reverse("dashboard") + "?month=2024-05&city=郑州市")
    kpi = get(cmcc, reverse("report", args=["kpi"]) + "?month=2024-05&city=郑州市")
    assert kpi.context["rows"][0]["name"] == "郑州市"
    # another operator's user sees only its own sites
    ctcc = get(login(users["ctcc_zz"]), reverse("report", args=["mysites"]) + "?month=2024-05")
    theirs = set(Line.objects.filter(operator__code="CTCC").exclude(status="TOWER")
                 .values_list("site__site_code", flat=True))
    assert {row["name"] for row in ctcc.context["rows"]} <= theirs


def test_month_close_page_button_job_and_errors(province, users, tmp_path, settings):
    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False
    settings.TOWERLEDGER_JOB_RUNNER = "sync"
    assert import_bills(tmp_path, [MAY]).stored
    b = bill("A-100", "B-2405")
    bill_services.pay_bills([b.pk], users["clerk_zz"], date(2024, 5, 31), reason="t")
    for name in ("clerk_zz", "viewer", "cmcc"):
        c = login(users[name])
        get(c, reverse("month_close"), status=404)
        assert c.post(reverse("month_close_run"), {"month": "2024-05"}).status_code == 404
        assert "月结" not in get(c, reverse("dashboard")).content.decode()
    admin = login(users["admin"])
    page = get(admin, reverse("month_close")).content.decode()
    assert 'action="/close/run/"' in page and '<option value="2024-05"' in page
    # the paid bill is not allocated: the books check refuses, and the page says why
    r = admin.post(reverse("month_close_run"), {"month": "2024-05"})
    assert r.status_code == 302
    job = CloseJob.objects.get()
    assert not ImportJob.objects.exists()      # the close has a job record of its own
    assert job.status == "FAILED" and any("B-2405" in p for p in job.errors)
    body = get(admin, r["Location"]).content.decode()
    assert "未关账" in body and "B-2405" in body
    assert MonthClose.objects.get(month=MAY1).status == "RUNNING"
    # put the books right; the close job runs and the month shows closed
    from towerledger.settlement.allocate import allocate_bills

    allocate_bills([b.pk], today=date(2024, 5, 31))
    r = admin.post(reverse("month_close_run"), {"month": "2024-05"})
    job = CloseJob.objects.order_by("-pk").first()
    assert job.status == "DONE" and job.done == len(closing.STEPS)
    assert MonthClose.objects.get(month=MAY1).status == "CLOSED"
    assert MonthClose.objects.get(month=MAY1).closed_by == users["admin"]
    poll = get(admin, reverse("month_close_job", args=[job.pk])).content.decode()
    assert "已关账" in poll and "hx-get" not in poll        # finished: polling stops
    page = get(admin, reverse("month_close")).content.decode()
    assert "M-CLOSED" in page and '<option value="2024-05"' not in page
    assert get(admin, reverse("dashboard")).context["month"] == MAY1
    # the home page leads to the dashboard
    assert reverse("dashboard") in get(admin, reverse("home")).content.decode()


def test_close_job_polls_while_running(province, users):
    job = CloseJob.objects.create(month=MAY1, total=4, step="snapshots", done=2,
                                  status="RUNNING")
    admin = login(users["admin"])
    poll = get(admin, reverse("month_close_job", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in poll and 'max="100" value="50"' in poll
    page = get(admin, reverse("month_close")).content.decode()
    assert "disabled" in page and "月结正在进行" in page
    get(admin, reverse("month_close_job", args=[job.pk + 1]), status=404)


def test_dashboard_reads_only_snapshots_in_a_handful_of_queries(closed, users):
    """12 closed months of a province of 18 cities and 5 operators: the page reads the
    province and city rows only (never lines or bills) in a handful of queries. (How fast
    it answers is measured by make bench — bench/dashboard.py, bench/pages.py — not here:
    a timed assertion fails on a busy machine.)"""
    base = Snapshot.objects.get(month=MAY1, level="PROVINCE", operator="*").figures
    figures = {**base, **{f"flags_R{i}": i for i in range(10)},
               **{f"age_{b}": 1000 for b in ("0_30", "31_60", "61_90", "91_180")}}
    rows = []
    months = [date(2023 + (m + 5) // 12, (m + 5) % 12 + 1, 1) for m in range(12)]
    assert months[-1] == date(2024, 5, 1)
    for m in months[:-1]:
        MonthClose.objects.create(month=m, status="CLOSED", steps=list(closing.STEPS))
    for m in months:
        for op in ("*", "CMCC", "CUCC", "CTCC", "CBN", "OTHER"):
            rows.append(Snapshot(month=m, level="PROVINCE", key="河南省x", operator=op,
                                 figures=figures))
            for i in range(18):
                rows.append(Snapshot(month=m, level="CITY", key=f"市{i:02}", parent="河南省x",
                                     operator=op, figures=figures))
                for j in range(8):
                    rows.append(Snapshot(month=m, level="COUNTY", key=f"市{i:02}/县{j}",
                                         parent=f"市{i:02}", operator=op, figures=figures))
    Snapshot.objects.filter(month=MAY1, level="PROVINCE").delete()
    Snapshot.objects.bulk_create(rows, batch_size=2000)
    admin = login(users["admin"])
    get(admin, reverse("dashboard"))            # warm up (templates, translations)
    with CaptureQueriesContext(connection) as q:
        r = get(admin, reverse("dashboard"))
    assert len(r.context["charts"]["trend"]["months"]) == 12
    assert len(r.context["table"]) == 19       # 18 cities + the real 郑州市
    sql = " ".join(x["sql"] for x in q.captured_queries).lower()
    assert "settlement_line" not in sql and "bills_bill" not in sql
    assert len(q.captured_queries) <= 12, [x["sql"][:80] for x in q.captured_queries]
