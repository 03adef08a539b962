"""Imports apply the importing user's scope (issue 17): for each kind and each role an
in-scope row is stored, an out-of-scope row is a row error "不在您的范围内 / outside your
scope" and nothing at all is written; the three attacks of the issue are refused; a city
that does not exist is a row error unless the import creates organisation data."""

from datetime import date

import pytest
from django.test import override_settings
from typer.testing import CliRunner

from tests.helpers import write_csv
from towerledger.access.models import AuditEntry
from towerledger.bills.models import Bill, MeterDay, SubmeterReading
from towerledger.cli import app
from towerledger.collection.models import Receipt
from towerledger.collection.services import CollectionError, auto_match
from towerledger.exchange.registry import KINDS
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalEntry
from towerledger.org.models import City, County, Province
from towerledger.sites.models import AccountSite, AllocationRule, Site, SupplyAccount, Tenancy

pytestmark = pytest.mark.django_db



def outside(e) -> bool:
    """The error says "不在您的范围内 / outside your scope" (then names the value)."""
    return e.zh.startswith("不在您的范围内：") and e.en.startswith("outside your scope: ")

# kind -> (a row in 郑州市, clerk_zz's city; a row in 洛阳市, outside it)
ROWS = {
    "sites": (
        {"site_code": "ZZ010", "site_name": "新站", "province": "河南省", "city": "郑州市",
         "county": "金水区", "site_type": "MACRO"},
        {"site_code": "LY010", "site_name": "新站", "province": "河南省", "city": "洛阳市",
         "county": "西工区", "site_type": "MACRO"}),
    "tenancies": (
        {"tenancy_id": "T-ZZ001-CBN", "site_code": "ZZ001", "operator": "CMCC",
         "start_date": "2024-06-01", "settlement_mode": "RESALE"},
        {"tenancy_id": "T-LY001-CMCC", "site_code": "LY001", "operator": "CMCC",
         "start_date": "2024-06-01", "settlement_mode": "RESALE"}),
    "accounts": (
        {"account_no": "A-110", "supply_mode": "RESUPPLY", "supplier_type": "LANDLORD",
         "input_invoice_type": "GENERAL", "payment_cycle_months": "1", "site_code": "ZZ002",
         "split_ratio": "100%"},
        {"account_no": "A-310", "supply_mode": "RESUPPLY", "supplier_type": "LANDLORD",
         "input_invoice_type": "GENERAL", "payment_cycle_months": "1", "site_code": "LY001",
         "split_ratio": "100"}),
    "rules": (
        {"site_code": "ZZ001", "effective_from": "2024-06-01", "method": "EQUAL"},
        {"site_code": "LY001", "effective_from": "2024-06-01", "method": "EQUAL"}),
    "bills": (
        {"bill_no": "B-2407", "account_no": "A-100", "period_start": "2024-07-01",
         "period_end": "2024-07-31", "kwh": "4000", "amount": "4400.00"},
        {"bill_no": "L-2407", "account_no": "A-300", "period_start": "2024-07-01",
         "period_end": "2024-07-31", "kwh": "900", "amount": "1080.00"}),
    "payments": (
        {"bill_no": "B-2405", "account_no": "A-100", "paid_date": "2024-06-03",
         "payment_ref": "PAY-Z1"},
        {"bill_no": "L-2405", "account_no": "A-300", "paid_date": "2024-06-03",
         "payment_ref": "PAY-L1"}),
    "submeter": (
        {"site_code": "ZZ001", "operator": "CMCC", "period_start": "2024-05-01",
         "period_end": "2024-05-31", "kwh": "100"},
        {"site_code": "LY001", "operator": "CUCC", "period_start": "2024-05-01",
         "period_end": "2024-05-31", "kwh": "100"}),
    "smartmeter": (
        {"site_code": "ZZ001", "date": "2024-05-01", "kwh": "100"},
        {"site_code": "LY001", "date": "2024-05-01", "kwh": "100"}),
    "receipts": (
        {"receipt_no": "R-Z1", "operator": "CMCC", "city": "郑州市", "amount": "100.00",
         "received_date": "2024-06-01"},
        {"receipt_no": "R-L1", "operator": "CMCC", "city": "洛阳市", "amount": "100.00",
         "received_date": "2024-06-01"}),
}


def write_rows(path, kind, rows):
    header = [f.name for f in KINDS[kind].schema.fields]
    return write_csv(path, header, [[r.get(h, "") for h in header] for r in rows])


def imp(tmp_path, kind, rows, user=None, name=None, **kw):
    path = write_rows(tmp_path / (name or f"{kind}-{len(rows)}.csv"), kind, rows)
    return run_import(kind, path, user, **kw)


@pytest.fixture
def books(users, tmp_path):
    """The small province with one unpaid bill in each city (for the payments rows)."""
    result = imp(tmp_path, "bills", [
        {"bill_no": "B-2405", "account_no": "A-100", "period_start": "2024-05-01",
         "period_end": "2024-05-31", "kwh": "4320", "amount": "4752.00"},
        {"bill_no": "L-2405", "account_no": "A-300", "period_start": "2024-05-01",
         "period_end": "2024-05-31", "kwh": "1000", "amount": "1200.00"}], name="setup.csv")
    assert result.stored, [e.text() for e in result.errors]
    return users


def footprint():
    """Everything an import can write, to show that a refused one wrote nothing."""
    return (list(Site.objects.order_by("pk").values_list("pk", "site_code", "site_name",
                                                          "county_id", "host_site_id")),
            list(Tenancy.objects.order_by("pk").values_list("pk", "site_id", "operator_id")),
            list(SupplyAccount.objects.order_by("pk").values_list("pk", "account_no")),
            list(AccountSite.objects.order_by("pk").values_list("pk", "site_id",
                                                                "split_ratio")),
            AllocationRule.objects.count(),
            list(Bill.objects.order_by("pk").values_list("pk", "status", "payment_ref")),
            SubmeterReading.objects.count(), MeterDay.objects.count(),
            Receipt.objects.count(), JournalEntry.objects.count(),
            AuditEntry.objects.filter(action="import").count(),
            City.objects.count(), County.objects.count(), Province.objects.count())


@pytest.mark.parametrize("kind", sorted(ROWS))
def test_a_clerk_imports_rows_of_their_city(books, tmp_path, kind):
    zz, _ = ROWS[kind]
    result = imp(tmp_path, kind, [zz], books["clerk_zz"])
    assert result.stored and not result.errors, [e.text() for e in result.errors]


@pytest.mark.parametrize("kind", sorted(ROWS))
def test_a_clerks_row_outside_their_city_is_a_row_error_and_nothing_is_written(
        books, tmp_path, kind):
    zz, ly = ROWS[kind]
    before = footprint()
    result = imp(tmp_path, kind, [zz, ly], books["clerk_zz"])
    assert not result.stored
    assert [(e.row, outside(e)) for e in result.errors] == [(3, True)], \
        [e.text() for e in result.errors]
    assert result.errors[0].column in ("site_code", "account_no", "city", "receipt_no")
    assert footprint() == before
    # the other city's clerk may import that same row
    assert imp(tmp_path, kind, [ly], books["clerk_ly"], name="ly.csv").stored


@pytest.mark.parametrize("kind", sorted(ROWS))
def test_a_province_admin_imports_rows_of_every_city(books, tmp_path, kind):
    result = imp(tmp_path, kind, list(ROWS[kind]), books["admin"])
    assert result.stored and not result.errors, [e.text() for e in result.errors]


@pytest.mark.parametrize("role", ["viewer", "cmcc", "ctcc_zz"])
@pytest.mark.parametrize("kind", sorted(ROWS))
def test_viewers_and_operator_users_import_nothing(books, tmp_path, kind, role):
    before = footprint()
    result = imp(tmp_path, kind, [ROWS[kind][0]], books[role])
    assert not result.stored and footprint() == before
    assert result.errors[0].row == 0 and "you may not import" in result.errors[0].en


# ---- the three attacks of the issue -------------------------------------------------------

def test_a_clerk_cannot_pay_another_citys_bill_by_payments_or_bill_file(books, tmp_path):
    clerk = books["clerk_zz"]
    paid = imp(tmp_path, "payments", [ROWS["payments"][1]], clerk)
    again = imp(tmp_path, "bills", [{**dict(ROWS["payments"][1]), "period_start": "2024-05-01",
                                     "period_end": "2024-05-31", "kwh": "1000",
                                     "amount": "1200.00"}], clerk, name="b.csv")
    for result in (paid, again):
        assert not result.stored and outside(result.errors[0])
        assert result.errors[0].column == "account_no"
    ly = Bill.objects.get(bill_no="L-2405")
    assert ly.status == Bill.Status.UNPAID and not ly.payment_ref
    assert not JournalEntry.objects.filter(reference="PAY-L1").exists()


def test_a_clerk_cannot_pay_through_the_cli_as_themselves(books, tmp_path):
    path = write_rows(tmp_path / "pay.csv", "payments", [ROWS["payments"][1]])
    out = CliRunner().invoke(app, ["import", "payments", str(path), "--user", "clerk_zz"])
    assert out.exit_code == 1 and "outside your scope" in out.output + str(out.stderr_bytes)
    assert Bill.objects.get(bill_no="L-2405").status == Bill.Status.UNPAID


def test_a_clerk_cannot_put_a_tenancy_on_another_citys_site_or_move_one_here(books,
                                                                          tmp_path):
    clerk = books["clerk_zz"]
    on_theirs = imp(tmp_path, "tenancies", [ROWS["tenancies"][1]], clerk)
    moved = imp(tmp_path, "tenancies", [{**ROWS["tenancies"][0],
                                         "tenancy_id": "T-LY001-CUCC"}], clerk, name="m.csv")
    assert outside(on_theirs.errors[0]) and on_theirs.errors[0].column == "site_code"
    assert [(e.column, outside(e)) for e in moved.errors] == [("tenancy_id", True)]
    assert not Tenancy.objects.filter(tenancy_id="T-LY001-CMCC").exists()
    assert Tenancy.objects.get(tenancy_id="T-LY001-CUCC").site.site_code == "LY001"


def test_a_clerk_cannot_rename_or_take_over_another_citys_site(books, tmp_path):
    clerk = books["clerk_zz"]
    renamed = imp(tmp_path, "sites", [{**ROWS["sites"][1], "site_code": "LY001",
                                       "site_name": "改名"}], clerk)
    taken = imp(tmp_path, "sites", [{**ROWS["sites"][0], "site_code": "LY001"}], clerk,
                name="t.csv")
    hosted = imp(tmp_path, "sites", [{**ROWS["sites"][0], "host_site_code": "LY001"}], clerk,
                 name="h.csv")
    assert {e.column for e in renamed.errors} == {"site_code", "city"}
    assert [e.column for e in taken.errors] == ["site_code"]
    assert [e.column for e in hosted.errors] == ["host_site_code"]
    assert all(outside(e) for r in (renamed, taken, hosted) for e in r.errors)
    site = Site.objects.get(site_code="LY001")
    assert site.site_name == "西工一号" and site.county.city.name == "洛阳市"


def test_an_account_feeding_another_city_is_not_a_clerks(books, tmp_path):
    """Paying or re-splitting a shared account changes the other city's sites too."""
    admin, clerk = books["admin"], books["clerk_zz"]
    shared = {**ROWS["accounts"][0], "account_no": "A-900", "split_ratio": "50"}
    assert imp(tmp_path, "accounts", [shared, {**shared, "site_code": "LY001"}], admin).stored
    resplit = imp(tmp_path, "accounts", [{**shared, "split_ratio": "100"}], clerk, name="r.csv")
    billed = imp(tmp_path, "bills", [{**ROWS["bills"][0], "account_no": "A-900"}], clerk,
                 name="b.csv")
    for result in (resplit, billed):
        assert [(e.column, outside(e)) for e in result.errors] == [
            ("account_no", True)]
    assert AccountSite.objects.filter(account__account_no="A-900").count() == 2


def test_a_clerks_receipt_must_name_their_city(books, tmp_path):
    province_wide = {**ROWS["receipts"][0], "city": ""}
    result = imp(tmp_path, "receipts", [province_wide], books["clerk_zz"])
    assert [(e.column, outside(e)) for e in result.errors] == [("city", True)]
    assert imp(tmp_path, "receipts", [province_wide], books["admin"], name="a.csv").stored


@override_settings(TOWERLEDGER_MATCH_ON_IMPORT=False)
def test_matching_as_a_clerk_takes_only_their_receipts(books, tmp_path):
    assert imp(tmp_path, "receipts", list(ROWS["receipts"]), books["admin"]).stored
    assert auto_match(user=books["clerk_zz"]).unmatched == ["R-Z1"]
    assert sorted(auto_match(user=books["admin"]).unmatched) == ["R-L1", "R-Z1"]
    for role in ("viewer", "cmcc"):
        with pytest.raises(CollectionError):
            auto_match(user=books[role])


@override_settings(TOWERLEDGER_JOB_RUNNER="sync")
def test_the_import_page_refuses_a_clerks_row_outside_their_city(books, tmp_path):
    from django.test import Client
    from django.urls import reverse

    from towerledger.exchange.models import ImportJob

    c = Client()
    c.force_login(books["clerk_zz"])
    path = write_rows(tmp_path / "t.csv", "tenancies", [ROWS["tenancies"][1]])
    with path.open("rb") as f:
        c.post(reverse("imports"), {"kind": "tenancies", "file": f, "keep_going": "1"})
    job = ImportJob.objects.get()
    assert job.error_count == 1 and job.errors[0] == [2, "site_code", "不在您的范围内：LY001",
                                                      "outside your scope: LY001"]
    assert not Tenancy.objects.filter(tenancy_id="T-LY001-CMCC").exists()


# ---- organisation data ----------------------------------------------------------------------

def test_a_misspelt_city_or_province_is_a_row_error_not_a_new_one(books, tmp_path):
    before = footprint()
    result = imp(tmp_path, "sites", [{**ROWS["sites"][0], "city": "郑洲市"},
                                     {**ROWS["sites"][1], "site_code": "X1",
                                      "province": "河男省"}], books["admin"])
    assert [(e.row, e.column, e.zh, e.en) for e in result.errors] == [
        (2, "city", "地市 郑洲市 不存在", "no such city 郑洲市"),
        (3, "province", "省份 河男省 不存在", "no such province 河男省")]
    assert footprint() == before


def test_create_org_makes_new_cities_for_a_province_admin_only(books, tmp_path):
    row = {**ROWS["sites"][0], "city": "开封市", "county": "龙亭区"}
    refused = imp(tmp_path, "sites", [row], books["clerk_zz"], create_org=True)
    assert refused.errors[0].row == 0 and "province admin" in refused.errors[0].en
    assert not City.objects.filter(name="开封市").exists()
    assert imp(tmp_path, "sites", [row], books["admin"], create_org=True).stored
    assert County.objects.get(name="龙亭区").city.name == "开封市"


def test_a_new_county_needs_a_province_admin(books, tmp_path):
    row = {**ROWS["sites"][0], "county": "二七区"}
    result = imp(tmp_path, "sites", [row], books["clerk_zz"])
    assert [(e.column, e.en) for e in result.errors] == [
        ("county", "no such county 二七区 (a new county needs a province admin)")]
    assert imp(tmp_path, "sites", [row], books["admin"], name="a.csv").stored
    assert County.objects.get(name="二七区").city.name == "郑州市"


def test_the_system_user_also_needs_create_org_for_a_new_city(books, tmp_path):
    row = {**ROWS["sites"][0], "city": "开封市"}
    assert not imp(tmp_path, "sites", [row]).stored
    assert imp(tmp_path, "sites", [row], create_org=True, name="b.csv").stored
    assert Site.objects.get(site_code="ZZ010").county.city.name == "开封市"


# ---- numbers and codes through a real import (issue 17, items 5 and 6) ----------------------

@pytest.mark.parametrize("column, cell, says", [
    ("amount", "1e20", "out of range"), ("amount", "1e400", "out of range"),
    ("amount", "NaN", "not a number"), ("amount", "Infinity", "not a number"),
    ("amount", "12345678901234.00", "out of range"), ("amount", "100%", "percent sign"),
    ("amount", "-5", "at least 0"), ("kwh", "1e400", "out of range"),
    ("unit_price", "123456.1234", "out of range"), ("bill_no", "B/2407", "not allowed"),
    ("bill_no", "B\x1b2407", "control character"),
])
def test_a_bad_number_or_code_is_a_row_error_never_a_crash(books, tmp_path, column, cell, says):
    before = footprint()
    row = {**ROWS["bills"][0], column: cell}
    result = imp(tmp_path, "bills", [ROWS["bills"][0], row], books["admin"])
    assert not result.stored and footprint() == before
    assert [(e.row, e.column) for e in result.errors] == [(3, column)]
    assert says in result.errors[0].en and result.errors[0].zh


def test_readings_whose_kwh_overflows_the_column_are_a_row_error(books, tmp_path):
    row = {**ROWS["bills"][0], "kwh": "", "start_reading": "0",
           "end_reading": "999999999999.99", "multiplier": "99999999.99"}
    result = imp(tmp_path, "bills", [row], books["admin"])
    assert [(e.row, e.column) for e in result.errors] == [(2, "end_reading")]


def test_a_site_code_with_a_slash_is_refused_and_percent_ratios_are_read_as_percent(
        books, tmp_path):
    bad = imp(tmp_path, "sites", [{**ROWS["sites"][0], "site_code": "ZZ/010"}], books["admin"])
    assert [(e.column, "not allowed" in e.en) for e in bad.errors] == [("site_code", True)]
    ok = imp(tmp_path, "tenancies", [{**ROWS["tenancies"][1], "tenancy_id": "T-LY001-X",
                                      "agreed_ratio": "12.5%"}], books["admin"], name="t.csv")
    assert ok.stored and Tenancy.objects.get(tenancy_id="T-LY001-X").agreed_ratio == 12.5


@override_settings(TOWERLEDGER_JOB_RUNNER="sync")
def test_the_import_page_creates_cities_only_when_a_province_admin_ticks_the_box(books,
                                                                                 tmp_path):
    from django.test import Client
    from django.urls import reverse

    from towerledger.exchange.models import ImportJob

    row = {**ROWS["sites"][0], "city": "开封市", "county": "龙亭区"}
    path = write_rows(tmp_path / "s.csv", "sites", [row])
    for role, box in (("clerk_zz", "1"), ("admin", ""), ("admin", "1")):
        c = Client()
        c.force_login(books[role])
        assert ("create_org" in c.get(reverse("imports")).content.decode()) == (role == "admin")
        with path.open("rb") as f:
            c.post(reverse("imports"), {"kind": "sites", "file": f, "create_org": box})
    clerk, unticked, ticked = ImportJob.objects.order_by("pk")
    assert clerk.errors[0][1:] == ["city", "地市 开封市 不存在", "no such city 开封市"]
    assert unticked.status == ImportJob.Status.FAILED and ticked.status == ImportJob.Status.DONE
    assert Site.objects.get(site_code="ZZ010").county.city.name == "开封市"


# ---- the other bulk paths that take a user ----------------------------------------------------

def test_paying_on_the_page_refuses_a_bill_of_an_account_feeding_another_city(books, tmp_path):
    from towerledger.bills.services import ServiceError, pay_bills

    admin = books["admin"]
    shared = {**ROWS["accounts"][0], "account_no": "A-900", "split_ratio": "50"}
    assert imp(tmp_path, "accounts", [shared, {**shared, "site_code": "LY001"}], admin).stored
    assert imp(tmp_path, "bills", [{**ROWS["bills"][0], "account_no": "A-900"}], admin,
               name="b.csv").stored
    bill = Bill.objects.get(account__account_no="A-900")
    with pytest.raises(ServiceError):
        pay_bills([bill.pk], books["clerk_zz"], date(2024, 8, 1))
    assert pay_bills([bill.pk], admin, date(2024, 8, 1)).paid == [bill.pk]


@override_settings(TOWERLEDGER_ALLOCATE_ON_PAY=False)
def test_allocation_and_lump_sums_as_a_clerk_cover_their_city_only(books):
    from towerledger.bills.services import pay_bills
    from towerledger.settlement.allocate import allocate_bills
    from towerledger.settlement.models import Line
    from towerledger.settlement.services import lump_sums

    pay_bills(list(Bill.objects.values_list("pk", flat=True)), books["admin"], date(2024, 6, 3))
    assert allocate_bills(user=books["viewer"]).bills == 0
    allocate_bills(user=books["clerk_zz"])
    assert set(Line.objects.values_list("bill__bill_no", flat=True)) == {"B-2405"}
    assert lump_sums(date(2024, 5, 1), books["clerk_zz"]) == 0   # the lump sum is Luoyang's
    assert lump_sums(date(2024, 5, 1), books["clerk_ly"]) == 1


def test_keep_going_stores_a_clerks_own_rows_and_sets_the_others_aside(books, tmp_path):
    zz, ly = ROWS["tenancies"]
    result = imp(tmp_path, "tenancies", [zz, ly], books["clerk_zz"], keep_going=True)
    assert result.stored and result.set_aside == 1 and result.counts.created == 1
    assert [(e.row, e.column) for e in result.errors] == [(3, "site_code")]
    assert set(Tenancy.objects.filter(tenancy_id__in=[zz["tenancy_id"], ly["tenancy_id"]])
               .values_list("tenancy_id", flat=True)) == {zz["tenancy_id"]}


def test_a_payment_reference_of_another_citys_bill_is_refused_without_naming_it(books,
                                                                               tmp_path):
    assert imp(tmp_path, "payments", [ROWS["payments"][1]], books["admin"]).stored
    theirs = {**ROWS["payments"][0], "payment_ref": "PAY-L1"}
    result = imp(tmp_path, "payments", [theirs], books["clerk_zz"], name="p.csv")
    assert [(e.column, outside(e)) for e in result.errors] == [("payment_ref", True)]
    assert "L-2405" not in result.errors[0].text() and "A-300" not in result.errors[0].text()
    assert Bill.objects.get(bill_no="B-2405").status == Bill.Status.UNPAID
