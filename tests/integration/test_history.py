"""历史数据 (opening balances): a legacy ledger taken over through the real import path keeps
its original dates, so ageing, 欠费率, 核对率, 回收率 and 当年结清率 are right from the first
day (figures computed by hand, docs/programs/history.md's worked example); the books check
out; a second import changes nothing; the reconciliation ties to the fen and is signed off;
collection drives measure progress against their targets."""

from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.utils import timezone

from tests.helpers import write_csv
from towerledger.access.models import AuditEntry
from towerledger.analysis import kpi
from towerledger.analysis.books import check_books
from towerledger.collection import services as collection
from towerledger.collection.models import Receipt, Statement
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalLine
from towerledger.org.models import City
from towerledger.programs.history import services
from towerledger.programs.history.models import CollectionTarget, LegacyRow, SignOff
from towerledger.settlement.models import Application, Line
from towerledger.settlement.services import confirm_lines

D = Decimal
pytestmark = pytest.mark.django_db

HEADER_ZH = ["站址编码", "运营商", "账期", "推送金额", "确认金额", "核销金额", "欠费金额",
             "推送日期", "确认日期", "核销日期", "批次"]
HEADER_EN = ["site_code", "operator", "month", "pushed", "confirmed", "written_off",
             "outstanding", "push_date", "confirm_date", "write_off_date", "batch"]
# the worked example of docs/programs/history.md
LEGACY = [
    ["ZZ001", "移动", "2023-03", "1200.00", "1200.00", "0", "1200.00", "2023-03-10",
     "2023-03-18", "", "TO2024"],
    ["ZZ001", "CMCC", "2024年5月", "900.00", "900.00", "400.00", "500.00", "2024-05-08",
     "2024-05-15", "2024-06-20", "TO2024"],
    ["ZZ002", "CTCC", "2024/6", "600.00", "0", "0", "600.00", "2024-06-05", "", "", "TO2024"],
    ["LY001", "CUCC", "2024-06", "800.00", "800.00", "800.00", "0.00", "2024-06-03",
     "2024-06-10", "2024-06-25", "TO2024"],
    ["ZZ002", "CMCC", "202406", "300.00", "200.00", "150.00", "150.00", "2024-06-12",
     "2024-06-20", "2024-07-05", "TO2024"],
]
UNAPPLIED_HEADER = ["运营商", "地市", "金额", "到账日期", "批次"]
UNAPPLIED = [["CMCC", "郑州市", "250.00", "2024-06-28", "TO2024"]]


def take_over(tmp_path, user, encoding="gbk"):
    path = write_csv(tmp_path / "legacy.csv", HEADER_ZH, LEGACY, encoding=encoding)
    result = run_import("legacy_ledger", path, user)
    assert result.stored, [e.text() for e in result.errors]
    path = write_csv(tmp_path / "unapplied.csv", UNAPPLIED_HEADER, UNAPPLIED, encoding=encoding)
    more = run_import("legacy_unapplied", path, user)
    assert more.stored, [e.text() for e in more.errors]
    return result, more


def province_row(rows, operator="*"):
    return next(r for r in rows if r["level"] == "PROVINCE" and r["operator"] == operator)


def test_lines_keep_their_original_dates_and_the_books_check_out(tmp_path, users):
    result, more = take_over(tmp_path, users["admin"])
    assert (result.counts.created, more.counts.created) == (5, 1)
    lines = Line.objects.filter(kind=Line.Kind.OPENING).order_by("push_date", "pk")
    got = [(ln.site.site_code, ln.operator.code, ln.month, ln.push_date, ln.receivable,
            ln.confirmed_at.date() if ln.confirmed_at else None) for ln in lines]
    assert got == [
        ("ZZ001", "CMCC", date(2023, 3, 1), date(2023, 3, 10), D("1200.00"), date(2023, 3, 18)),
        ("ZZ001", "CMCC", date(2024, 5, 1), date(2024, 5, 8), D("900.00"), date(2024, 5, 15)),
        ("LY001", "CUCC", date(2024, 6, 1), date(2024, 6, 3), D("800.00"), date(2024, 6, 10)),
        ("ZZ002", "CTCC", date(2024, 6, 1), date(2024, 6, 5), D("600.00"), None),
        ("ZZ002", "CMCC", date(2024, 6, 1), date(2024, 6, 12), D("200.00"), date(2024, 6, 20)),
        ("ZZ002", "CMCC", date(2024, 6, 1), date(2024, 6, 12), D("100.00"), None),
    ]
    assert set(Line.objects.pending().filter(kind="OPENING").values_list("receivable",
                                                                        flat=True)) == {
        D("600.00"), D("100.00")}
    ctcc = Line.objects.pending().get(kind="OPENING", operator__code="CTCC")
    assert ctcc.confirm_due == date(2024, 6, 15)   # pushed 06-05 + 10 days (default agreement)
    # legacy write-offs: applications on legacy receipts dated on the original day
    receipts = Receipt.objects.filter(reference__startswith=services.LEGACY_REFERENCE) \
        .order_by("received_date")
    assert [(r.operator.code, r.received_date, r.amount, r.applied) for r in receipts] == [
        ("CMCC", date(2024, 6, 20), D("400.00"), D("400.00")),
        ("CUCC", date(2024, 6, 25), D("800.00"), D("800.00")),
        ("CMCC", date(2024, 6, 28), D("250.00"), D("0.00")),     # legacy unapplied cash
        ("CMCC", date(2024, 7, 5), D("150.00"), D("150.00")),
    ]
    assert sorted((a.created_at.date(), a.amount) for a in Application.objects.all()) == [
        (date(2024, 6, 20), D("400.00")), (date(2024, 6, 25), D("800.00")),
        (date(2024, 7, 5), D("150.00"))]
    # the confirmed legacy lines are on confirmed legacy statements, not on the next one
    assert Line.objects.confirmed().filter(kind="OPENING", statement__isnull=True).count() == 0
    assert set(Statement.objects.values_list("status", flat=True)) == {"CONFIRMED"}
    # journal: outstanding 2,450.00 less unapplied 250.00 lands in OPENING (credit)
    bal = {a: JournalLine.objects.filter(account=a) for a in ("OPENING", "RECEIVABLE",
                                                               "UNCONFIRMED", "UNAPPLIED",
                                                               "CASH")}

    def balance(a):
        d = sum((x.debit for x in bal[a]), D(0))
        c = sum((x.credit for x in bal[a]), D(0))
        return d - c
    assert balance("OPENING") == D("-2200.00")
    assert balance("RECEIVABLE") == D("1750.00")    # 1200 + 500 + 0 + 50
    assert balance("UNCONFIRMED") == D("700.00")    # 600 + 100
    assert balance("UNAPPLIED") == D("-250.00")
    assert balance("CASH") == D("0.00")             # legacy history moves no cash
    assert check_books() == []


def test_ageing_and_kpis_are_right_from_the_first_day(tmp_path, users):
    take_over(tmp_path, users["admin"])
    # ageing as of 2024-06-30 (/ageing/ reads collection.services.ageing)
    rows = collection.ageing(users["admin"], "operator", date(2024, 6, 30))
    by_op = {r["key"]: r for r in rows}
    assert by_op["CMCC"]["buckets"][">365"] == D("1200.00")      # pushed 2023-03-10: 478 days
    assert by_op["CMCC"]["buckets"]["31-60"] == D("500.00")      # 900 − 400 written off 06-20
    assert by_op["CMCC"]["buckets"]["0-30"] == D("300.00")       # 200 + 100, paid 07-05
    assert by_op["CTCC"]["total"] == D("600.00")
    assert "CUCC" not in by_op                                  # paid in full on 06-25
    assert sum((r["total"] for r in rows), D(0)) == D("2600.00")
    # the KPI snapshot of June 2024 (as of its last day)
    june = province_row(kpi.compute(date(2024, 6, 1)))["figures"]
    assert D(str(june["outstanding"])) == D("2600.00")
    assert D(str(june["arrears_base"])) == D("1700.00")           # 600 + 800 + 200 + 100
    assert D(str(june["age_gt_365"])) == D("1200.00")
    assert D(str(june["confirmed_amount"])) == D("1000.00")        # 800 + 200 by 06-30
    assert D(str(june["written_off_amount"])) == D("800.00")       # LY001 on 06-25
    rates = kpi.rates(june)
    assert rates["arrears"] == D("1.5294")                         # 2600 / 1700
    assert rates["confirmation"] == D("0.5882")                    # 1000 / 1700
    assert rates["recovery"] == D("0.4706")                        # 800 / 1700
    # 当年结清率 2024: advances of 2024 (pushed in 2024) 2,600.00, of which 1,350.00 written
    # off by 31 Dec 2024
    dec = province_row(kpi.compute(date(2024, 12, 1)))["figures"]
    assert D(str(dec["year_receivable"])) == D("2600.00")
    assert D(str(dec["year_written_off"])) == D("1350.00")
    assert kpi.rates(dec)["same_year_clearing"] == D("0.5192")
    assert D(str(dec["outstanding"])) == D("2450.00")
    # a clerk sees their city only
    zz = collection.ageing(users["clerk_zz"], "operator", date(2024, 6, 30))
    assert sum((r["total"] for r in zz), D(0)) == D("2600.00")
    assert collection.ageing(users["clerk_ly"], "operator", date(2024, 6, 30)) == []


def test_a_second_import_changes_nothing(tmp_path, users):
    take_over(tmp_path, users["admin"])
    before = (Line.objects.count(), JournalLine.objects.count(), Receipt.objects.count(),
              Application.objects.count(), Statement.objects.count())
    again, more = take_over(tmp_path, users["admin"], encoding="utf-8")
    assert (again.counts.created, again.counts.unchanged) == (0, 5)
    assert (more.counts.created, more.counts.unchanged) == (0, 1)
    assert (Line.objects.count(), JournalLine.objects.count(), Receipt.objects.count(),
            Application.objects.count(), Statement.objects.count()) == before
    # the same row with other figures is refused: taken-over lines are never edited
    changed = [LEGACY[0][:3] + ["1300.00", "1300.00", "0", "1300.00"] + LEGACY[0][7:]]
    result = run_import("legacy_ledger", write_csv(tmp_path / "c.csv", HEADER_ZH, changed),
                        users["admin"])
    assert not result.stored
    assert "other figures" in result.errors[0].en


def test_new_rows_of_a_later_file_add_only_themselves(tmp_path, users):
    take_over(tmp_path, users["admin"])
    more = [["ZZ001", "CUCC", "2024-06", "50.00", "50.00", "20.00", "30.00", "2024-06-12",
             "2024-06-20", "2024-06-20", "TO2024"]]
    result = run_import("legacy_ledger", write_csv(tmp_path / "m.csv", HEADER_ZH,
                                                   LEGACY + more), users["admin"])
    assert (result.counts.created, result.counts.unchanged) == (1, 5)
    assert check_books() == []
    ties, grand, journal = services.reconciliation(users["admin"])
    assert grand.ties and journal["ties"]
    assert grand.imported.outstanding == D("2480.00")


def test_every_bad_row_at_once_and_only_the_province_admin(tmp_path, users):
    bad = [
        ["ZZ001", "CMCC", "2024-01", "100.00", "100.00", "30.00", "60.00", "2024-01-05",
         "2024-01-09", "2024-02-01", ""],                       # 100 ≠ 30 + 60
        ["ZZ001", "CUCC", "2024-02", "100.00", "50.00", "80.00", "20.00", "2024-02-05",
         "2024-02-09", "2024-03-01", ""],                       # written off > confirmed
        ["NOPE", "CMCC", "2024-02", "10.00", "0", "0", "10.00", "2024-02-05", "", "", ""],
        ["ZZ002", "CMCC", "13/2024", "10.00", "0", "0", "10.00", "2024-02-05", "", "", ""],
        ["ZZ002", "CTCC", "2024-02", "10.00", "10.00", "0", "10.00", "2024-02-05", "", "", ""],
        ["ZZ002", "CUCC", "2024-03", "10.00", "0", "0", "10.00", "2024-02-05", "", "", ""],
    ]
    path = write_csv(tmp_path / "bad.csv", HEADER_EN, bad)
    result = run_import("legacy_ledger", path, users["admin"])
    assert not result.stored
    got = {(e.row, e.column) for e in result.errors}
    assert {(2, "outstanding"), (3, "written_off"), (4, "site_code"), (5, "month"),
            (6, "confirm_date"), (7, "push_date")} <= got
    assert all(e.zh and e.en for e in result.errors)
    assert LegacyRow.objects.count() == 0 and not Line.objects.filter(kind="OPENING").exists()
    refused = run_import("legacy_ledger", path, users["clerk_zz"])
    assert not refused.stored and "province admin" in refused.errors[0].en


def test_xlsx_with_english_headers_and_excel_dates(tmp_path, users):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(HEADER_EN)
    ws.append(["ZZ001", "CMCC", datetime(2023, 3, 1), 1200, 1200, 0, 1200,
               datetime(2023, 3, 10), datetime(2023, 3, 18), None, "X1"])
    book.save(tmp_path / "legacy.xlsx")
    result = run_import("legacy_ledger", tmp_path / "legacy.xlsx", users["admin"])
    assert result.stored, [e.text() for e in result.errors]
    row = LegacyRow.objects.get()
    assert (row.month, row.push_date, row.confirmed_line.receivable, row.batch) == (
        date(2023, 3, 1), date(2023, 3, 10), D("1200.00"), "X1")


def test_reconciliation_ties_to_the_fen_and_is_signed_off(tmp_path, users):
    take_over(tmp_path, users["admin"])
    ties, grand, journal = services.reconciliation(users["admin"])
    by_key = {t.key: t for t in ties}
    zz_cmcc = by_key[("郑州市", "CMCC")]
    assert zz_cmcc.legacy.figures() == zz_cmcc.imported.figures() == {
        "pushed": D("2400.00"), "confirmed": D("2300.00"), "written_off": D("550.00"),
        "outstanding": D("1850.00"), "unapplied": D("250.00")}
    assert zz_cmcc.legacy.rows == zz_cmcc.imported.rows == 3
    assert all(t.ties for t in ties) and grand.ties
    assert grand.legacy.pushed == D("3800.00") and grand.legacy.outstanding == D("2450.00")
    assert journal == {"opening_credit": D("2200.00"), "expected": D("2200.00"), "ties": True}
    # a clerk sees their city's groups only
    assert {t.key[0] for t in services.reconciliation(users["clerk_ly"])[0]} == {"洛阳市"}
    with pytest.raises(services.HistoryError):
        services.sign_off(users["clerk_zz"], "ok")
    with pytest.raises(services.HistoryError):
        services.sign_off(users["admin"], "  ")
    s = services.sign_off(users["admin"], "接管对账无差异 ties")
    assert s.ties and s.signed_by == users["admin"]
    assert s.figures["total"]["legacy"]["outstanding"] == "2450.00"
    assert AuditEntry.objects.filter(action="history.sign_off", user=users["admin"]).exists()
    assert SignOff.objects.count() == 1
    # a write-off reversed after the take-over shows as a difference, to the fen
    app = Application.objects.get(amount=D("150.00"))
    collection.unmatch([app.pk], users["admin"], "测试 test")
    ties, grand, _ = services.reconciliation(users["admin"])
    assert not grand.ties
    assert grand.differences["written_off"] == D("-150.00")


def test_collection_drive_progress_against_targets(tmp_path, users):
    take_over(tmp_path, users["admin"])
    zz = City.objects.get(name="郑州市")
    with pytest.raises(services.HistoryError):
        services.set_target(users["clerk_zz"], zz.pk, date(2024, 6, 30), date(2024, 12, 31),
                            D("1000.00"), None)
    with pytest.raises(services.HistoryError):
        services.set_target(users["admin"], zz.pk, date(2024, 6, 30), date(2024, 12, 31),
                            D("1000.00"), D("0.5"))
    with pytest.raises(services.HistoryError):
        services.set_target(users["admin"], zz.pk, date(2024, 6, 30), date(9999, 12, 31),
                            D("1000.00"), None)
    services.set_target(users["admin"], zz.pk, date(2024, 6, 30), date(2024, 12, 31), None,
                        D("0.5"), "年底清欠一半")
    assert CollectionTarget.objects.count() == 1
    assert AuditEntry.objects.filter(action="history.target", object_key=f"{zz.pk}/2024-12-31",
                                     reason="年底清欠一半").exists()
    # 郑州市 owed 2,600.00 on 2024-06-30 (1200 + 500 + 600 + 300; LY001 is 洛阳市's); by
    # 2024-12-31 150.00 of it came in (07-05): goal 50 % = 1,300.00, rate 150 / 1300
    (p,) = services.drive_progress(users["admin"], date(2025, 3, 1))
    assert (p["progress"].baseline, p["progress"].left, p["progress"].collected,
            p["progress"].goal) == (D("2600.00"), D("2450.00"), D("150.00"), D("1300.00"))
    assert p["progress"].rate == D("0.1154") and p["due"] and not p["met"]
    assert services.drive_progress(users["clerk_ly"], date(2025, 3, 1)) == []
    # a receipt matched by hand moves the drive on
    line = Line.objects.confirmed().get(kind="OPENING", month=date(2023, 3, 1))
    r = Receipt.objects.create(receipt_no="HK-1", operator=line.operator, city=zz,
                               amount=D("1200.00"), received_date=date(2024, 11, 1))
    collection.post_receipts([r], users["admin"])
    collection.manual_match(r.pk, [line.pk], users["admin"], "清欠 drive")
    (p,) = services.drive_progress(users["admin"], date(2025, 3, 1))
    assert p["progress"].collected == D("1350.00") and p["met"]
    # arrears by city, operator, legacy or current and age
    rows = services.arrears(users["admin"], date(2025, 3, 1))
    assert [(r["city"], r["operator"], r["legacy"], r["total"]) for r in rows] == [
        ("郑州市", "CMCC", True, D("650.00")), ("郑州市", "CTCC", True, D("600.00"))]
    assert rows[1]["buckets"]["181-365"] == D("600.00")          # pushed 2024-06-05
    assert check_books() == []


def test_legacy_unapplied_cash_is_matched_later(tmp_path, users):
    take_over(tmp_path, users["admin"])
    r = Receipt.objects.get(receipt_no__startswith="LGU-")
    line = Line.objects.confirmed().get(kind="OPENING", month=date(2023, 3, 1))
    collection.manual_match(r.pk, [line.pk], users["admin"], "历史预收核销 legacy cash")
    r.refresh_from_db()
    assert (r.applied, r.status) == (D("250.00"), "APPLIED")
    assert Line.objects.get(pk=line.pk).written_off == D("250.00")
    assert check_books() == []


def test_a_pending_legacy_line_is_confirmed_like_any_other(tmp_path, users):
    take_over(tmp_path, users["admin"])
    line = Line.objects.pending().get(kind="OPENING", operator__code="CTCC")
    confirm_lines([line.pk], users["ctcc_zz"])
    assert Line.objects.confirmed().filter(pk=line.pk).exists()
    assert check_books() == []


def test_pages_sign_off_targets_and_the_xlsx_export(tmp_path, users, client):
    take_over(tmp_path, users["admin"])
    client.force_login(users["admin"])
    page = client.get("/programs/history/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "一致 ties" in html and "2,450.00" in html and 'data-ties="0"' not in html
    assert client.post("/programs/history/sign-off/", {"note": "接管无差异"}).status_code == 302
    assert SignOff.objects.get().note == "接管无差异"
    zz = City.objects.get(name="郑州市")
    client.post("/programs/history/targets/", {
        "city": zz.pk, "baseline_date": "2024-06-30", "target_date": "2024-12-31",
        "target_amount": "", "target_rate_pct": "50", "note": "=HYPERLINK(\"x\")"})
    t = CollectionTarget.objects.get()
    assert (t.target_rate, t.target_amount) == (D("0.5000"), None)
    drive = client.get("/programs/history/drive/?as_of=2025-03-01").content.decode()
    assert "2,600.00" in drive and "1,300.00" in drive and "2,450.00" in drive
    got = client.get("/programs/history/drive.xlsx?as_of=2025-03-01&part=targets")
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"".join(got.streaming_content))
    ws = openpyxl.load_workbook(path).active
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[0][:3] == ["city", "baseline_date", "target_date"]
    assert values[1][0] == "郑州市" and values[1][8] == 150 and values[1][9] == 1300
    assert values[1][-1].startswith("'=")                       # formula-safe
    arrears = client.get("/programs/history/drive.xlsx?as_of=2024-06-30")
    path.write_bytes(b"".join(arrears.streaming_content))
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(path).active.iter_rows()]
    assert rows[0][-2:] == ["age_>365", "outstanding"]
    assert sum(r[-1] for r in rows[1:]) == 2600
    # a clerk reads but neither signs nor sets targets; an operator sees neither page
    client.post("/programs/history/targets/delete/", {"target": t.pk, "reason": "重设 reset"})
    assert not CollectionTarget.objects.exists()
    assert AuditEntry.objects.filter(action="history.target_delete", reason="重设 reset").exists()
    client.force_login(users["clerk_zz"])
    assert client.get("/programs/history/").status_code == 200
    assert client.post("/programs/history/sign-off/", {"note": "x"}).status_code == 404
    client.force_login(users["cmcc"])
    assert client.get("/programs/history/drive/").status_code == 404


def test_api_reconciliation_and_drive_are_scoped(tmp_path, users, client):
    from towerledger.api.tokens import create_token

    take_over(tmp_path, users["admin"])
    services.set_target(users["admin"], City.objects.get(name="郑州市").pk, date(2024, 6, 30),
                        date(2024, 12, 31), D("1000.00"), None)

    def get(user, url):
        token = create_token(users[user], f"{user} system")[1]
        r = client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.content
        return r.json()
    rec = get("admin", "/api/v1/history/reconciliation")
    assert rec["ties"] and rec["journal"]["opening_credit"] == "2200.00"
    assert rec["total"]["legacy"]["outstanding"] == "2450.00"
    assert rec["total"]["difference"]["pushed"] == "0.00"
    mine = get("cmcc", "/api/v1/history/reconciliation")
    assert {g["operator"] for g in mine["groups"]} == {"CMCC"} and mine["journal"] is None
    assert {g["city"] for g in get("clerk_ly", "/api/v1/history/reconciliation")["groups"]} \
        == {"洛阳市"}
    drive = get("admin", "/api/v1/history/drive?as_of=2024-06-30")
    assert sum(D(a["outstanding"]) for a in drive["arrears"]) == D("2600.00")
    (t,) = drive["targets"]
    assert (t["baseline_arrears"], t["goal"], t["collected"]) == ("2600.00", "1000.00", "0.00")
    op = get("ctcc_zz", "/api/v1/history/drive?as_of=2024-06-30")
    assert [(a["operator"], a["outstanding"]) for a in op["arrears"]] == [("CTCC", "600.00")]
    assert op["targets"] == []


def test_the_month_close_snapshots_each_citys_arrears(tmp_path, users, client):
    from towerledger.analysis.close import month_snapshots
    from towerledger.programs.history.models import DriveMonth

    take_over(tmp_path, users["admin"])
    for _ in range(2):   # a resumed close replaces the month's rows
        replies = month_snapshots.send(sender=None, month=date(2024, 6, 1),
                                       user=users["admin"], as_of=date(2024, 7, 20))
    assert dict((r.__module__, v) for r, v in replies)[
        "towerledger.programs.history.services"] == {"cities": 1,
                                                     "legacy_outstanding": "2600.00"}
    (row,) = DriveMonth.objects.all()
    assert (row.city.name, row.legacy_outstanding, row.current_outstanding,
            row.legacy_over_365) == ("郑州市", D("2600.00"), D("0.00"), D("1200.00"))
    assert services.trend(users["clerk_ly"]) == []
    client.force_login(users["viewer"])
    page = client.get("/programs/history/drive/").content.decode()
    assert 'id="trend"' in page and "2024-06" in page


def test_an_old_pending_legacy_line_is_deemed_confirmed_after_its_deadline(tmp_path, users,
                                                                          client):
    from towerledger.settlement.services import run_deadlines

    take_over(tmp_path, users["admin"])
    run_deadlines(date(2024, 7, 1))
    line = Line.objects.confirmed().get(kind="OPENING", operator__code="CTCC")
    # due 06-15: deemed confirmed on the 16th (local time), the day after its deadline
    assert line.deemed and timezone.localtime(line.confirmed_at).date() == date(2024, 6, 16)
    assert check_books() == []
    client.force_login(users["ctcc_zz"])
    page = client.get(f"/lines/{line.pk}/").content.decode()
    assert "历史数据 TO2024" in page or "Legacy ledger TO2024" in page
