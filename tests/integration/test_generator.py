"""油机发电 (issue 15) through the real import path, services, lines and books: a GBK file
with Chinese headers, every bad row at once, a clerk's scope, the run audits holding
billing until resolved, billing by the agreement's rule with the tower's share (the
worked example of docs/programs/generator.md to the fen), idempotency, the payment entry,
the month close receivers and the monthly figures."""

from datetime import date
from decimal import Decimal

import pytest

from tests.helpers import RULES_HEADER, write_csv
from towerledger.access.scope import OUTSIDE_EN, OUTSIDE_ZH
from towerledger.analysis.books import check_books
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalLine
from towerledger.org.models import Operator, Province
from towerledger.programs.generator import services
from towerledger.programs.generator.models import Billing, Finding, MonthFigures, Outage, Run
from towerledger.settlement.models import Line
from towerledger.settlement.services import confirm_lines

D = Decimal
pytestmark = pytest.mark.django_db

OUTAGE_HEADER = ["停电编号", "站址编码", "停电开始时间", "来电时间", "停电原因"]
RUN_HEADER = ["发电单号", "停电编号", "站址编码", "发电班组", "发电开始时间", "发电结束时间",
              "发电时长", "耗油量(升)", "油价", "人工费", "运输费", "额定油耗", "支付日期"]
OUTAGES = [
    ["O-2407-01", "ZZ001", "2024-07-20 22:00", "2024/7/21 6:30", "暴雨停电"],
    ["O-2407-02", "ZZ002", "2024-07-20 23:00", "2024-07-21 03:00", "暴雨停电"],
    ["O-2407-03", "LY001", "2024-07-20 21:00", "2024-07-21 01:00", "线路检修"],
]
# R-1 is the worked example; R-2 runs 5 h on a 4 h outage; R-3 is R-1 again under a new number
R1 = ["R-2407-01", "O-2407-01", "", "金水发电一班", "2024-07-20 22:20", "2024-07-21 06:20",
      "8.00", "26.50", "7.86", "150.00", "60.00", "4.00", "2024-07-22"]
RUNS = [
    R1,
    ["R-2407-02", "O-2407-02", "ZZ002", "金水发电二班", "2024-07-20 23:00", "2024-07-21 04:00",
     "5.00", "16.00", "7.86", "100.00", "40.00", "4.00", ""],
    ["R-2407-03", *R1[1:]],
]


def set_up(tmp_path):
    """ZZ001 keeps 10 % of its load from July; the province agreed DC current."""
    rules = write_csv(tmp_path / "rules.csv", RULES_HEADER,
                      [["ZZ001", "2024-07-01", "DC_CURRENT", "EQUAL", "PRO_RATA", "10"]])
    assert run_import("rules", rules).stored
    services.set_rule(None, date(2024, 1, 1), "DC_CURRENT",
                      province_id=Province.objects.get().pk)
    outages = write_csv(tmp_path / "停电.csv", OUTAGE_HEADER, OUTAGES, "gbk")
    result = run_import("outages", outages)
    assert result.stored, [e.text() for e in result.errors]
    return write_csv(tmp_path / "发电.csv", RUN_HEADER, RUNS, "gbk")


def test_import_audit_bill_confirm_and_analyse(users, tmp_path):
    runs = set_up(tmp_path)
    result = run_import("generator_runs", runs, users["clerk_zz"])
    assert result.stored, [e.text() for e in result.errors]
    assert result.counts.created == 3
    assert result.outcome["held_runs"] == ["R-2407-01", "R-2407-02", "R-2407-03"]
    r1 = Run.objects.get(run_no="R-2407-01")
    assert r1.cost == D("418.29") and r1.site.site_code == "ZZ001"
    open_codes = {(f.run.run_no, f.code) for f in Finding.objects.filter(resolved_at=None)}
    assert open_codes == {("R-2407-01", "GEN_DUPLICATE"), ("R-2407-03", "GEN_DUPLICATE"),
                          ("R-2407-02", "GEN_HOURS")}
    # re-importing the same file adds nothing and keeps the findings
    again = run_import("generator_runs", runs, users["clerk_zz"])
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 3)

    # everything is held; the clerk resolves R-1's duplicate (R-3 is the copy) and bills
    july = date(2024, 7, 1)
    assert services.bill_runs(users["clerk_zz"], month=july).billed == []
    f = Finding.objects.get(run=r1, code="GEN_DUPLICATE")
    services.resolve_finding(f.pk, users["clerk_zz"], "R-2407-03 为重复录入，R-2407-01 有效")
    done = services.bill_runs(users["clerk_zz"], month=july, today=date(2024, 7, 23))
    assert done.billed == ["R-2407-01"] and sorted(done.held) == ["R-2407-02", "R-2407-03"]

    lines = {(ln.tenancy.tenancy_id if ln.tenancy_id else "TOWER"): ln
             for ln in Line.objects.filter(kind="GENERATOR").select_related("tenancy")}
    assert {k: ln.cost_share for k, ln in lines.items()} == {
        "T-ZZ001-CMCC": D("188.23"), "T-ZZ001-CUCC": D("117.64"), "T-ZZ001-CTCC": D("70.59"),
        "TOWER": D("41.83")}
    assert sum(ln.cost_share for ln in lines.values()) == r1.cost
    cmcc = lines["T-ZZ001-CMCC"]
    assert (cmcc.receivable, cmcc.tax_amount, cmcc.status, cmcc.month) == (
        D("188.23"), D("0.00"), Line.Status.PUSHED, july)
    assert cmcc.confirm_due == date(2024, 8, 2)
    assert lines["TOWER"].status == Line.Status.TOWER
    text = cmcc.trace["text_zh"]
    for part in ("油机发电", "O-2407-01", "R-2407-01", "8.00 小时", "26.50 升", "7.86",
                 "= 208.29", "人工 150.00", "运输 60.00", "合计 418.29", "按直流负载电流",
                 "权重 40 / 合计 80", "10%", "188.23"):
        assert part in text, (part, text)
    assert "DC_CURRENT" in cmcc.trace["text_en"] and cmcc.trace["share_amount"] == "188.23"

    # R-1's payment is cleared by its billing; R-3 (the copy) was paid too and stays an
    # advance nobody is billed for until someone recovers it; the books balance
    def balance(account):
        rows = JournalLine.objects.filter(account=account, site__site_code="ZZ001")
        return sum((x.debit - x.credit for x in rows), D("0.00"))

    assert balance("GEN_ADVANCE") == D("418.29") and balance("GEN_COST") == D("41.83")
    assert check_books() == []

    # billing again does nothing (idempotent per run)
    assert services.bill_runs(users["admin"], run_ids=[r1.pk]).billed == []
    assert Line.objects.filter(kind="GENERATOR").count() == 4
    # a billed run cannot be changed by a later file
    changed = write_csv(tmp_path / "改.csv", RUN_HEADER, [[*R1[:7], "30.00", *R1[8:]]])
    refused = run_import("generator_runs", changed, users["clerk_zz"])
    assert not refused.stored
    assert [(e.row, e.column) for e in refused.errors] == [(2, "litres")]
    assert "已出账" in refused.errors[0].zh and "billed" in refused.errors[0].en

    # the operator confirms; the monthly figures count it as recovered-to-be (confirmed)
    confirm_lines([cmcc.pk], users["cmcc"], today=date(2024, 7, 25))
    figures = {(r["city"], r["operator"]): r for r in services.month_figures(july)}
    zz = figures[("郑州市", "")]
    assert (zz["outages"], zz["runs"], zz["cost"], zz["billed"], zz["confirmed"]) == (
        2, 3, D("418.29") * 2 + D("265.76"), D("376.46"), D("188.23"))
    assert figures[("郑州市", "CMCC")]["confirmed"] == D("188.23")
    assert figures[("洛阳市", "")]["outages"] == 1

    # the month close bills what is no longer held, and snapshots the figures (idempotent)
    f2 = Finding.objects.get(run__run_no="R-2407-02", code="GEN_HOURS")
    services.resolve_finding(f2.pk, users["admin"], "来电后继续发电 1 小时等待市电稳定")
    summary = services.on_month_closing(month=july, user=None, as_of=date(2024, 8, 20))
    assert summary["billed"] == 1 and summary["held"] == 1
    r2 = Billing.objects.get(run__run_no="R-2407-02")
    assert (r2.method, r2.cost) == ("DC_CURRENT", D("265.76"))   # 125.76 + 100 + 40
    r2_lines = Line.objects.filter(kind="GENERATOR", site__site_code="ZZ002")
    assert sorted(ln.cost_share for ln in r2_lines) == [D("132.88"), D("132.88")]
    assert services.on_month_snapshots(month=july, as_of=date(2024, 8, 20))["rows"] == 5
    assert services.on_month_snapshots(month=july, as_of=date(2024, 8, 20))["rows"] == 5
    snap = MonthFigures.objects.get(month=july, city__name="郑州市", operator=None)
    assert (snap.billed, snap.confirmed) == (D("376.46") + D("265.76"), D("188.23"))
    cmcc_op = Operator.objects.get(code="CMCC")
    assert MonthFigures.objects.get(month=july, city__name="郑州市",
                                    operator=cmcc_op).billed == D("188.23") + D("132.88")
    assert check_books() == []   # R-2 was never paid: GEN_ADVANCE credit is billed, not a fault


def test_every_bad_row_at_once_and_a_clerk_only_in_their_city(users, tmp_path):
    set_up(tmp_path)
    bad = write_csv(tmp_path / "bad.csv", ["run_no", "outage_no", "site_code", "start", "end",
                                           "litres", "fuel_price"], [
        ["B-1", "O-NONE", "", "2024-07-20 22:00", "2024-07-20 23:00", "3", "7.86"],
        ["B-2", "O-2407-01", "ZZ002", "2024-07-20 22:00", "2024-07-20 21:00", "3", "7.86"],
        ["B-3", "", "", "2024-07-20 25:00", "2024-07-20 23:00", "abc", "7.86"],
        ["B-4", "O-2407-03", "", "2024-07-20 22:00", "2024-07-20 23:00", "3", "7.86"],
    ])
    result = run_import("generator_runs", bad, users["clerk_zz"])
    assert not result.stored
    found = {(e.row, e.column) for e in result.errors}
    assert {(2, "outage_no"), (3, "site_code"), (3, "end"), (4, "start"), (4, "litres"),
            (5, "outage_no")} <= found
    outside = next(e for e in result.errors if e.row == 5)
    assert (outside.column, outside.zh, outside.en) == (
        "outage_no", f"{OUTSIDE_ZH}：O-2407-03", f"{OUTSIDE_EN}: O-2407-03")
    assert all(e.zh and e.en for e in result.errors)
    assert not Run.objects.exists()
    # the Luoyang clerk may record the Luoyang run
    ok = write_csv(tmp_path / "ly.csv", ["run_no", "outage_no", "start", "end", "litres",
                                         "fuel_price"],
                   [["B-4", "O-2407-03", "2024-07-20 22:00", "2024-07-20 23:00", "3", "7.86"]])
    assert run_import("generator_runs", ok, users["clerk_ly"]).stored
    run = Run.objects.get(run_no="B-4")
    assert (run.hours, run.cost) == (D("1.00"), D("23.58"))
    assert {f.code for f in run.findings.all()} == {"GEN_NO_RATING"}   # a WARN: not held
    # a run with no outage is stored, flagged and held
    loose = write_csv(tmp_path / "loose.csv", ["run_no", "site_code", "start", "end", "litres",
                                               "fuel_price", "rated_lph"],
                      [["B-5", "LY001", "2024-07-22 10:00", "2024-07-22 12:00", "6", "7.86",
                        "4"]])
    assert run_import("generator_runs", loose, users["clerk_ly"]).stored
    billed = services.bill_runs(users["clerk_ly"], month=date(2024, 7, 1),
                                today=date(2024, 7, 23))
    assert billed.billed == ["B-4"] and billed.held == ["B-5"]
    # LY001: only the CUCC tenancy is active in July (CTCC ended in March); LY001's rule
    # keeps 5 % for the tower: 23.58 × 0.95 = 22.401 → 22.40, the tower 1.179 → 1.18
    lines = Line.objects.filter(kind="GENERATOR", site__site_code="LY001")
    assert sorted((ln.operator.code if ln.operator_id else "TOWER", ln.cost_share)
                  for ln in lines.select_related("operator")) == [
        ("CUCC", D("22.40")), ("TOWER", D("1.18"))]
    # the Zhengzhou clerk bills nothing of Luoyang's
    assert services.bill_runs(users["clerk_zz"], run_ids=[run.pk]).billed == []


def test_pages_list_enter_resolve_bill_and_analyse(users, tmp_path, client):
    runs = set_up(tmp_path)
    assert run_import("generator_runs", runs, users["clerk_zz"]).stored
    client.force_login(users["clerk_zz"])
    page = client.get("/programs/generator/?month=2024-07").content.decode()
    assert "R-2407-01" in page and "O-2407-01" in page and "GEN_DUPLICATE" in page
    assert "O-2407-03" not in page                     # Luoyang's outage: not the clerk's
    outage = Run.objects.get(run_no="R-2407-01").outage
    assert client.get(f"/programs/generator/outages/{outage.pk}/").status_code == 200
    assert client.get(f"/programs/generator/outages/{outage_pk('O-2407-03')}/").status_code == 404
    # entry by hand: a bad time is refused with the column named, a good run is saved
    bad = client.post("/programs/generator/new/", {"form": "run", "run_no": "R-2407-09",
                                          "outage_no": "O-2407-01", "start": "2024-07-21 05:00",
                                          "end": "2024-07-21 04:00", "litres": "3",
                                          "fuel_price": "7.86"})
    assert "结束时间须晚于开始时间" in bad.content.decode()
    good = client.post("/programs/generator/new/", {"form": "run", "run_no": "R-2407-09",
                                           "outage_no": "O-2407-01",
                                           "start": "2024-07-21T06:20", "end": "2024-07-21T06:30",
                                           "litres": "0.70", "fuel_price": "7.86",
                                           "rated_lph": "4.5", "reason": "补录"})
    assert good.status_code == 302 and Run.objects.get(run_no="R-2407-09").cost == D("5.50")
    # resolve R-1's duplicate and R-2's hours on the outage page, then bill the month
    for run_no, code in (("R-2407-01", "GEN_DUPLICATE"), ("R-2407-02", "GEN_HOURS")):
        f = Finding.objects.get(run__run_no=run_no, code=code)
        assert client.post(f"/programs/generator/findings/{f.pk}/resolve/",
                           {"reason": "核实"}).status_code == 302
        f.refresh_from_db()
        assert f.resolution == "核实" and f.resolved_by == users["clerk_zz"]
    assert client.post("/programs/generator/bill/", {"month": "2024-07"}).status_code == 302
    assert set(Billing.objects.values_list("run__run_no", flat=True)) == {
        "R-2407-01", "R-2407-02", "R-2407-09"}
    page = client.get(f"/programs/generator/outages/{outage.pk}/").content.decode()
    assert "188.23" in page and "41.83" in page
    analysis = client.get("/programs/generator/analysis/?month=2024-07").content.decode()
    assert "郑州市" in analysis and "洛阳市" not in analysis
    # cost 418.29 × 2 + 265.76 + 5.50, hours 8 + 5 + 8 + 0.17, billed to operators 376.46
    # (R-1 less the tower's 41.83) + 265.76 (R-2) + 4.95 (R-9 less the tower's 0.55)
    assert ('<tr><td>郑州市</td><td class="num">2</td><td class="num">4</td><td class="num">'
            '21.17</td><td class="num">1,107.84</td><td class="num">647.17</td>') in analysis
    assert "实时，未关账" in analysis                             # July is not closed
    assert client.get("/programs/generator/rules/").status_code == 200
    # the operator has no program pages, only its lines
    client.force_login(users["cmcc"])
    assert client.get("/programs/generator/").status_code == 404
    assert client.get("/lines/?kind=GENERATOR").status_code == 200


def outage_pk(no):
    return Outage.objects.get(outage_no=no).pk


def test_api_reads_in_scope(users, tmp_path, client):
    from towerledger.api.tokens import create_token

    runs = set_up(tmp_path)
    assert run_import("generator_runs", runs, users["clerk_zz"]).stored
    token = {n: create_token(u, n)[1] for n, u in users.items()}

    def get(url, who, **params):
        return client.get(url, params, headers={"Authorization": f"Bearer {token[who]}"})

    outages = get("/api/v1/generator/outages", "clerk_zz", month="2024-07").json()
    assert [o["outage_no"] for o in outages["items"]] == ["O-2407-01", "O-2407-02"]
    assert outages["items"][0]["hours"] == "8.50"
    listed = get("/api/v1/generator/runs", "admin", month="2024-07").json()
    assert listed["count"] == 3
    r2 = next(r for r in listed["items"] if r["run_no"] == "R-2407-02")
    assert (r2["cost"], r2["held"], r2["findings"][0]["code"]) == ("265.76", True, "GEN_HOURS")
    assert get("/api/v1/generator/runs", "clerk_ly", month="2024-07").json()["count"] == 0
    assert get("/api/v1/generator/runs", "cmcc", month="2024-07").status_code == 403
    assert get("/api/v1/generator/runs", "clerk_ly", run_no="R-2407-01").json()["count"] == 0
    assert get("/api/v1/generator/runs", "cmcc").status_code == 403   # no month: this month
    # resolve R-1's duplicate and bill it: the API shows its lines
    f = Finding.objects.get(run__run_no="R-2407-01", code="GEN_DUPLICATE")
    services.resolve_finding(f.pk, users["clerk_zz"], "R-2407-03 为重复录入")
    assert services.bill_runs(users["clerk_zz"], month=date(2024, 7, 1)).billed == ["R-2407-01"]
    one = get("/api/v1/generator/runs", "viewer", run_no="R-2407-01").json()["items"][0]
    assert (one["billed"], one["held"]) == (True, False)
    assert sorted((ln["operator"] or "TOWER", ln["cost_share"]) for ln in one["lines"]) == [
        ("CMCC", "188.23"), ("CTCC", "70.59"), ("CUCC", "117.64"), ("TOWER", "41.83")]
    figures = get("/api/v1/generator/analysis", "clerk_zz", month="2024-07").json()
    zz = next(x for x in figures if x["city"] == "郑州市" and not x["operator"])
    assert (zz["cost"], zz["billed"]) == ("1102.34", "376.46")
    assert "GENERATOR" in {ln["kind"] for ln in get("/api/v1/lines", "cmcc").json()["items"]}


def test_xlsx_with_english_headers_and_excel_date_times(users, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["outage_no", "site_code", "start", "end", "cause"])
    ws.append(["O-X-1", "ZZ002", datetime(2024, 8, 3, 14, 0), datetime(2024, 8, 3, 19, 30),
               "line work"])
    ws2 = Workbook()
    runs = ws2.active
    runs.append(["Run_No", "Outage_No", "START", "End", "litres", "Fuel_Price", "labour_cost ",
                 "rated_lph"])
    # an Excel serial with its fraction of a day for the start (2024-08-03 14:30), a
    # date-time cell for the end
    runs.append(["R-X-1", "O-X-1", 45507 + 14.5 / 24, datetime(2024, 8, 3, 19, 0), 17.25, 7.9,
                 120, 4])
    wb.save(tmp_path / "outages.xlsx")
    ws2.save(tmp_path / "runs.xlsx")
    assert run_import("outages", tmp_path / "outages.xlsx", users["clerk_zz"]).stored
    result = run_import("generator_runs", tmp_path / "runs.xlsx", users["clerk_zz"])
    assert result.stored, [e.text() for e in result.errors]
    run = Run.objects.get(run_no="R-X-1")
    from django.utils import timezone

    assert timezone.localtime(run.start).strftime("%Y-%m-%d %H:%M") == "2024-08-03 14:30"
    # 4.5 h from start and end; 17.25 × 7.90 = 136.275 → 136.28, + 120 labour
    assert (run.hours, run.cost) == (D("4.50"), D("256.28"))
    assert not run.findings.exists()


def test_a_resolution_holds_for_the_figures_it_saw(users, tmp_path):
    """A resolved finding stays resolved on a re-import of the same run, reopens when the
    run's figures change, and goes away when the rule no longer fires."""
    runs = set_up(tmp_path)
    assert run_import("generator_runs", runs, users["clerk_zz"]).stored
    f = Finding.objects.get(run__run_no="R-2407-02", code="GEN_HOURS")
    services.resolve_finding(f.pk, users["clerk_zz"], "等待市电稳定")
    assert run_import("generator_runs", runs, users["clerk_zz"]).stored
    f.refresh_from_db()
    assert f.resolution == "等待市电稳定" and not f.is_open
    longer = write_csv(tmp_path / "r2.csv", RUN_HEADER, [[*RUNS[1][:6], "5.50", *RUNS[1][7:]]])
    assert run_import("generator_runs", longer, users["clerk_zz"]).stored
    f.refresh_from_db()
    assert f.is_open and f.figures["hours"] == "5.50" and f.resolution == ""
    shorter = write_csv(tmp_path / "r3.csv", RUN_HEADER, [[*RUNS[1][:6], "4.00", *RUNS[1][7:]]])
    assert run_import("generator_runs", shorter, users["clerk_zz"]).stored
    assert not Finding.objects.filter(run__run_no="R-2407-02", code="GEN_HOURS").exists()


def test_the_month_close_bills_what_is_not_held_and_snapshots(users, tmp_path):
    """Through the real close (analysis.close.close_month): its receivers are connected."""
    from towerledger.analysis.close import close_month

    runs = set_up(tmp_path)
    assert run_import("generator_runs", runs, users["clerk_zz"]).stored
    f = Finding.objects.get(run__run_no="R-2407-01", code="GEN_DUPLICATE")
    services.resolve_finding(f.pk, users["clerk_zz"], "R-2407-03 为重复录入")
    mc = close_month(date(2024, 7, 1), users["admin"], as_of=date(2024, 8, 20))
    assert mc.status == "CLOSED"
    assert set(Billing.objects.values_list("run__run_no", flat=True)) == {"R-2407-01"}
    assert MonthFigures.objects.get(month=date(2024, 7, 1), city__name="郑州市",
                                    operator=None).billed == D("376.46")
    stored, as_of = services.stored_figures(date(2024, 7, 1), users["clerk_zz"])
    assert as_of == date(2024, 8, 20) and {r["city"] for r in stored} == {"郑州市"}
    # the July lines were pushed on the close date; a run billed later lands in August
    cmcc = Line.objects.get(kind="GENERATOR", tenancy__tenancy_id="T-ZZ001-CMCC")
    assert (cmcc.month, cmcc.push_date) == (date(2024, 7, 1), date(2024, 8, 20))
    f2 = Finding.objects.get(run__run_no="R-2407-02", code="GEN_HOURS")
    services.resolve_finding(f2.pk, users["admin"], "核实")
    assert services.bill_runs(users["admin"], month=date(2024, 7, 1),
                              today=date(2024, 8, 21)).billed == ["R-2407-02"]
    late = Line.objects.filter(kind="GENERATOR", site__site_code="ZZ002")
    assert {ln.month for ln in late} == {date(2024, 8, 1)}
    assert check_books() == []
