"""暂估 Accruals on the small province: the month close posts them (the worked example of
docs/programs/accruals.md to the fen), reverses them on the next month's first day or when
the bill arrives, once, and the API shows them by scope."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from tests.integration.test_bills import import_bills
from towerledger.analysis.close import close_month
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.org.models import Province
from towerledger.programs.accruals.models import Accrual, ReverseOn
from towerledger.programs.accruals.services import accrue_month, reverse_covered, set_reverse_on

D = Decimal
JUNE = date(2024, 6, 1)


def row(no, account, start, end, kwh, price, amount):
    return [no, account, start, end, "", "", "", "", kwh, price, amount, "", "SPECIAL_13", "",
            ""]


# A-200 (ZZ002 70 %, ZZ003 30 %): March, April, May in full, June only to the 10th
WORKED = [
    row("G-2403", "A-200", "2024-03-01", "2024-03-31", "3100", "0.60", "1860.00"),
    row("G-2404", "A-200", "2024-04-01", "2024-04-30", "2700", "0.62", "1674.00"),
    row("G-2405", "A-200", "2024-05-01", "2024-05-31", "3100", "0.62", "1922.00"),
    row("G-2406", "A-200", "2024-06-01", "2024-06-10", "1050", "0.65", "682.50"),
    # A-100 (ZZ001) is covered in June: no accrual
    row("B-2405", "A-100", "2024-05-01", "2024-05-31", "4320", "1.10", "4752.00"),
    row("B-2406", "A-100", "2024-06-01", "2024-06-30", "4180", "1.10", "4598.00"),
]
REST_OF_JUNE = row("G-2406B", "A-200", "2024-06-11", "2024-06-30", "2000", "0.65", "1300.00")


@pytest.fixture
def bills(province, tmp_path):
    result = import_bills(tmp_path, WORKED, name="worked.csv")
    assert result.stored, [e.text() for e in result.errors]


def entry_lines(kind, reference):
    e = JournalEntry.objects.get(kind=kind, reference=reference)
    return e.date, sorted((ln.account, ln.site.site_code, ln.debit, ln.credit)
                          for ln in e.lines.select_related("site"))


def test_the_close_posts_the_worked_example_and_reverses_it_next_month(bills, users):
    mc = close_month(JUNE, users["admin"], as_of=date(2024, 7, 5))
    assert mc.summary["programs"]["accruals"]["accruals"] == 2
    a = Accrual.objects.get(month=JUNE, account__account_no="A-200")
    # uncovered 11–30 June = 20 days; window 11 March – 10 June (92 days):
    # 3100×21/31 + 2700 + 3100 + 1050 = 8950 kWh → 97.2826 kWh/day; × 20 × 0.65 = 1264.67
    assert (a.days_uncovered, a.first_uncovered, a.basis_from, a.basis_to, a.basis_days) == (
        20, date(2024, 6, 11), date(2024, 3, 11), date(2024, 6, 10), 92)
    assert (a.use_per_day, a.unit_price, a.amount) == (D("97.2826"), D("0.6500"), D("1264.67"))
    parts = {p.site.site_code: p.amount for p in a.parts.select_related("site")}
    assert parts == {"ZZ002": D("885.27"), "ZZ003": D("379.40")}
    assert entry_lines("ACCRUAL", "2024-06:A-200") == (date(2024, 6, 30), [
        ("ACCRUAL_COST", "ZZ002", D("885.27"), D("0")), ("ACCRUAL_COST", "ZZ003", D("379.40"), D("0")),
        ("ACCRUED", "ZZ002", D("0"), D("885.27")), ("ACCRUED", "ZZ003", D("0"), D("379.40"))])
    day, lines = entry_lines("ACCRUAL_REVERSAL", "2024-06:A-200")
    assert day == date(2024, 7, 1) and a.reversed_on == date(2024, 7, 1)
    assert sorted((acc, s, c, d) for acc, s, d, c in lines) == sorted(
        entry_lines("ACCRUAL", "2024-06:A-200")[1])
    # A-300 (LY001, every three months) has no bill at all: listed, zero, nothing posted
    lone = Accrual.objects.get(month=JUNE, account__account_no="A-300")
    assert (lone.days_uncovered, lone.basis_days, lone.amount, lone.posted_on) == (
        30, 0, D("0.00"), None)
    assert not Accrual.objects.filter(account__account_no="A-100").exists()
    # a second run (a resumed close) adds nothing
    assert accrue_month(JUNE) == {"accruals": 0, "entries": 0, "amount": "0"}
    assert JournalEntry.objects.filter(kind__startswith="ACCRUAL").count() == 2
    net = JournalLine.objects.filter(account__in=["ACCRUAL_COST", "ACCRUED"])
    assert sum(ln.debit - ln.credit for ln in net) == 0


def test_bill_arrives_setting_reverses_when_the_bill_covers_the_month(bills, users, tmp_path):
    set_reverse_on(Province.objects.get(), ReverseOn.BILL_ARRIVES, users["admin"], "按账单冲回")
    accrue_month(JUNE, users["admin"])
    a = Accrual.objects.get(month=JUNE, account__account_no="A-200")
    assert a.reverse_on == ReverseOn.BILL_ARRIVES and a.reversed_on is None
    assert not JournalEntry.objects.filter(kind="ACCRUAL_REVERSAL").exists()
    assert reverse_covered(date(2024, 7, 3)) == 0                  # the bill has not come
    assert import_bills(tmp_path, [REST_OF_JUNE], name="rest.csv").stored
    assert reverse_covered(date(2024, 7, 20), users["admin"]) == 1
    assert reverse_covered(date(2024, 7, 21)) == 0                 # once
    a.refresh_from_db()
    assert a.reversed_on == date(2024, 7, 20)
    e = JournalEntry.objects.get(kind="ACCRUAL_REVERSAL")
    assert e.date == date(2024, 7, 20)
    assert sum(ln.debit for ln in e.lines.all()) == D("1264.67")


def two_city_account():
    """A-900 feeds ZZ001 (60 %) and LY001 (40 %): no bill, so a zero accrual with parts."""
    from towerledger.sites.models import AccountSite, Site, SupplyAccount

    a = SupplyAccount.objects.create(account_no="A-900", supply_mode="DIRECT",
                                     supplier_type="GRID", input_invoice_type="SPECIAL_13")
    for code, ratio in (("ZZ001", 60), ("LY001", 40)):
        AccountSite.objects.create(account=a, site=Site.objects.get(site_code=code),
                                   split_ratio=ratio)


def test_api_scopes_accruals(bills, users):
    two_city_account()
    accrue_month(JUNE)
    client = Client()

    def codes(user):
        client.force_login(users[user])
        r = client.get("/api/v1/accruals?month=2024-06")
        return r.status_code, sorted(i["account_no"] for i in r.json().get("items", []))

    assert codes("admin") == (200, ["A-200", "A-300", "A-900"])
    assert codes("clerk_zz") == (200, ["A-200", "A-900"])
    assert codes("clerk_ly") == (200, ["A-300", "A-900"])
    # a clerk sees the parts in their own city only
    client.force_login(users["clerk_ly"])
    a900 = client.get("/api/v1/accruals?month=2024-06&account_no=A-900").json()["items"][0]
    assert [p["site_code"] for p in a900["sites"]] == ["LY001"]
    text = client.get("/programs/accruals/?month=2024-06").content.decode()
    assert 'data-account="A-900"' in text and "ZZ001" not in text
    assert codes("cmcc") == (403, [])          # the tower's internal figures
    client.force_login(users["admin"])
    item = next(i for i in client.get("/api/v1/accruals?month=2024-06").json()["items"]
                if i["account_no"] == "A-200")
    assert item["amount"] == "1264.67" and item["days_uncovered"] == 20
    assert {p["site_code"]: p["amount"] for p in item["sites"]} == {"ZZ002": "885.27",
                                                                  "ZZ003": "379.40"}


def test_pages_list_accruals_by_scope_and_download(bills, users):
    import io

    import openpyxl

    accrue_month(JUNE)
    client = Client()
    client.force_login(users["admin"])
    r = client.get("/programs/accruals/?month=2024-06")
    assert r.status_code == 200
    text = r.content.decode()
    assert 'data-account="A-200"' in text and "1,264.67" in text and 'data-city="郑州市"' in text
    x = client.get("/programs/accruals/?month=2024-06&format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(b"".join(x.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert [(r[1], r[12]) for r in rows[1:]] == [("A-200", 1264.67), ("A-300", 0)]
    client.force_login(users["clerk_ly"])
    text = client.get("/programs/accruals/?month=2024-06").content.decode()
    assert 'data-account="A-300"' in text and 'data-account="A-200"' not in text
    client.force_login(users["cmcc"])
    assert client.get("/programs/accruals/?month=2024-06").status_code == 404
    assert client.get("/programs/accruals/gl/?month=2024-06").status_code == 404
    client.force_login(users["admin"])
    csv_text = b"".join(client.get("/programs/accruals/gl/?month=2024-06&format=csv")
                        .streaming_content).decode("utf-8-sig")
    assert "ACCRUAL_COST" in csv_text and "1264.67" in csv_text
    r = client.post("/programs/accruals/gl/mapping/", {"reason": "清空 test", "code_ACCRUED": "",
                                              "name_ACCRUED": ""}, follow=True)
    assert r.status_code == 200
    r = client.get("/programs/accruals/gl/?month=2024-06&format=csv")
    assert r.status_code == 200 and 'id="gl-error"' in r.content.decode()   # refused, named
    assert "以下科目未配置总账映射，导出已拒绝：ACCRUED<" in r.content.decode()


def test_the_daily_job_reverses_accruals_whose_bill_arrived(bills, users, tmp_path):
    from django.utils import timezone

    from towerledger.analysis import tasks

    set_reverse_on(Province.objects.get(), ReverseOn.BILL_ARRIVES, users["admin"], "按账单冲回")
    accrue_month(JUNE)
    assert tasks.deadlines_daily.call()["accruals"] == {"reversed": 0}
    assert import_bills(tmp_path, [REST_OF_JUNE], name="rest.csv").stored
    assert tasks.deadlines_daily.call()["accruals"] == {"reversed": 1}
    assert JournalEntry.objects.get(kind="ACCRUAL_REVERSAL").date == timezone.localdate()
