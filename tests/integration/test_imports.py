"""Master-data imports through the real files and database (issue 2)."""

import csv
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from tests.helpers import (
    ACCOUNTS,
    ACCOUNTS_HEADER,
    RULES_HEADER,
    SITES,
    SITES_HEADER,
    TENANCIES_HEADER,
    write_csv,
)
from towerledger.access.models import AuditEntry
from towerledger.exchange.export import export_kind, write_template
from towerledger.exchange.services import run_import
from towerledger.importers.reader import read_table
from towerledger.org.models import City, County
from towerledger.sites.models import AccountSite, AllocationRule, Site, SupplyAccount, Tenancy

pytestmark = pytest.mark.django_db


def test_gbk_csv_with_chinese_headers_imports_and_builds_the_org_tree(tmp_path):
    path = write_csv(tmp_path / "sites.csv", SITES_HEADER, SITES, encoding="gbk")
    result = run_import("sites", path, create_org=True)
    assert result.stored and not result.errors
    assert (result.counts.created, result.counts.updated) == (4, 0)
    site = Site.objects.get(site_code="ZZ003")
    assert site.host_site.site_code == "ZZ001"
    assert site.county.city.name == "郑州市" and site.county.city.province.name == "河南省"
    assert City.objects.count() == 2 and County.objects.count() == 2


def test_reimporting_the_same_file_changes_nothing(tmp_path, province):
    path = write_csv(tmp_path / "again.csv", SITES_HEADER, SITES, encoding="utf-8-sig")
    before = list(Site.objects.order_by("pk").values())
    result = run_import("sites", path)
    assert (result.counts.created, result.counts.updated, result.counts.unchanged) == (0, 0, 4)
    assert list(Site.objects.order_by("pk").values()) == before
    again = run_import("accounts", write_csv(tmp_path / "a.csv", ACCOUNTS_HEADER, ACCOUNTS))
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 4)


def test_a_changed_row_is_an_update(tmp_path, province):
    rows = [list(r) for r in SITES]
    rows[1][1] = "金水二号（改名）"
    result = run_import("sites", write_csv(tmp_path / "s.csv", SITES_HEADER, rows))
    assert (result.counts.created, result.counts.updated, result.counts.unchanged) == (0, 1, 3)
    assert Site.objects.get(site_code="ZZ002").site_name == "金水二号（改名）"


def test_xlsx_with_excel_dates_and_numbers(tmp_path, province):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(TENANCIES_HEADER)
    ws.append(["T-NEW", "ZZ001", "中国移动", date(2024, 6, 1), None, "转售", None, 3500, 40.5, None])
    ws.append(["T-NEW2", "LY001", "CBN", 45413, "2025年1月31日", "ON_BEHALF", None, 1300, 20, None])
    book.save(tmp_path / "t.xlsx")
    result = run_import("tenancies", tmp_path / "t.xlsx")
    assert result.stored, [e.text() for e in result.errors]
    t = Tenancy.objects.get(tenancy_id="T-NEW")
    assert (t.operator.code, t.settlement_mode, t.dc_current_a) == ("CMCC", "RESALE", Decimal("40.50"))
    t2 = Tenancy.objects.get(tenancy_id="T-NEW2")
    assert (t2.start_date, t2.end_date) == (date(2024, 5, 1), date(2025, 1, 31))


def test_every_bad_row_is_reported_and_nothing_is_written(tmp_path, province):
    rows = [
        ["T-OK", "ZZ001", "CMCC", "2024-06-01", "", "RESALE", "", "1300", "20", ""],
        ["T-BAD1", "NOPE", "CMCC", "2024-06-01", "", "RESALE", "", "1300", "20", ""],
        ["T-BAD2", "ZZ001", "XYZ", "2024-06-01", "2024-05-01", "RESALE", "", "abc", "20", ""],
        ["T-BAD3", "ZZ001", "CUCC", "2024-06-01", "", "LUMP_SUM", "", "1300", "20", ""],
        ["T-OK", "ZZ001", "CMCC", "2024-06-01", "", "RESALE", "", "1300", "20", ""],
    ]
    before, logged = Tenancy.objects.count(), AuditEntry.objects.count()
    path = write_csv(tmp_path / "tenancies.csv", TENANCIES_HEADER, rows, encoding="gbk")
    result = run_import("tenancies", path)
    assert not result.stored and Tenancy.objects.count() == before
    found = {(e.row, e.column) for e in result.errors}
    assert (3, "site_code") in found                      # unknown site
    assert (4, "operator") in found and (4, "rated_power_w") in found  # two problems, one row
    assert (5, "lump_sum_monthly") in found               # LUMP_SUM without its amount
    assert (6, "tenancy_id") in found                     # repeats row 2
    # the report sits beside the input: the file's rows plus an error column
    report = read_table(result.error_report)
    assert result.error_report == tmp_path / "tenancies.errors.csv"
    assert report.headers[-1] == "错误说明 / errors" and len(report.rows) == len(rows)
    assert report.rows[0][-1] == ""
    assert "站址编码 NOPE 不存在" in report.rows[1][-1] and "unknown site_code NOPE" in report.rows[1][-1]
    assert AuditEntry.objects.count() == logged


def test_end_before_start_is_named(tmp_path, province):
    rows = [["T-X", "ZZ001", "CMCC", "2024-06-01", "2024-05-01", "RESALE", "", "", "", ""]]
    result = run_import("tenancies", write_csv(tmp_path / "t.csv", TENANCIES_HEADER, rows))
    [error] = result.errors
    assert (error.row, error.column) == (2, "end_date") and "早于起租日期" in error.zh


def test_splits_must_sum_to_100(tmp_path, province):
    rows = [list(r) for r in ACCOUNTS]
    rows[2][-1] = "25"  # 70 + 25
    result = run_import("accounts", write_csv(tmp_path / "a.csv", ACCOUNTS_HEADER, rows))
    assert not result.stored
    assert {(e.row, e.column) for e in result.errors} == {(3, "split_ratio"), (4, "split_ratio")}
    assert "合计 95" in result.errors[0].zh and "sum to 95" in result.errors[0].en


def test_account_rows_must_agree_on_the_account(tmp_path, province):
    rows = [list(r) for r in ACCOUNTS]
    rows[2][4] = "GENERAL"
    result = run_import("accounts", write_csv(tmp_path / "a.csv", ACCOUNTS_HEADER, rows))
    assert [(e.row, e.column) for e in result.errors] == [(4, "input_invoice_type")]


def test_an_account_no_longer_feeding_a_site_loses_that_split(tmp_path, province):
    rows = [r for r in ACCOUNTS if r[9] != "ZZ003"]
    rows = [[*r[:10], "100"] if r[0] == "A-200" else r for r in rows]
    result = run_import("accounts", write_csv(tmp_path / "a.csv", ACCOUNTS_HEADER, rows))
    assert result.stored and result.counts.updated == 1
    account = SupplyAccount.objects.get(account_no="A-200")
    assert list(account.splits.values_list("site__site_code", "split_ratio")) == [
        ("ZZ002", Decimal("100"))]
    assert AccountSite.objects.count() == 3


def test_fixed_ratio_ratios_not_summing_to_100_are_stored_not_refused(tmp_path, province):
    # issue 12: a sum ≠ 100 is the allocation's WARN finding (RATIO_SUM), never a refused
    # file — ZZ002 (FIXED_RATIO, CMCC 60 / CTCC 40) takes a third tenancy at 10
    rows = [["T-ZZ002-CUCC", "ZZ002", "CUCC", "2024-06-01", "", "RESALE", "", "", "", "10"]]
    result = run_import("tenancies", write_csv(tmp_path / "t.csv", TENANCIES_HEADER, rows))
    assert result.stored and result.counts.created == 1
    t = Tenancy.objects.get(tenancy_id="T-ZZ002-CUCC")
    assert list(t.ratios.values_list("effective_from", "agreed_ratio")) == [
        (date(2024, 6, 1), Decimal(10))]
    # a rule switching LY001 to FIXED_RATIO is stored too (its tenancies have no ratios:
    # the allocation falls back, with a FALLBACK finding)
    rules = [["LY001", "2024-07-01", "FIXED_RATIO", "", "", ""]]
    result = run_import("rules", write_csv(tmp_path / "r.csv", RULES_HEADER, rules))
    assert result.stored
    assert AllocationRule.objects.filter(site__site_code="LY001").count() == 2


def test_unknown_codes_and_columns_are_named(tmp_path, province):
    rows = [["ZZ001", "2024-01-01", "BY_MOOD", "", "", ""]]
    result = run_import("rules", write_csv(tmp_path / "r.csv", RULES_HEADER, rows))
    assert "unknown code BY_MOOD" in result.errors[0].en
    result = run_import("rules", write_csv(tmp_path / "r2.csv", ["site_code", "colour"], [["ZZ001", "red"]]))
    messages = {e.en for e in result.errors}
    assert "unknown column 'colour'" in messages
    assert any("missing required column method" in m for m in messages)


def test_keep_going_stores_the_good_rows_and_sets_the_bad_aside(tmp_path, province):
    rows = [
        ["T-GOOD", "ZZ001", "CMCC", "2024-06-01", "", "RESALE", "", "1300", "20", ""],
        ["T-BAD", "NOPE", "CMCC", "2024-06-01", "", "RESALE", "", "1300", "20", ""],
    ]
    path = write_csv(tmp_path / "t.csv", TENANCIES_HEADER, rows)
    result = run_import("tenancies", path, keep_going=True)
    assert result.stored and result.set_aside == 1 and result.counts.created == 1
    assert Tenancy.objects.filter(tenancy_id="T-GOOD").exists()
    assert not Tenancy.objects.filter(tenancy_id="T-BAD").exists()
    assert result.error_report.exists()


def test_unsupported_and_disguised_files_are_refused(tmp_path, db):
    (tmp_path / "sites.exe").write_bytes(b"MZ...")
    assert "unsupported file type" in run_import("sites", tmp_path / "sites.exe").errors[0].en
    (tmp_path / "sites.xlsx").write_text("not a workbook")
    assert "not an Excel workbook" in run_import("sites", tmp_path / "sites.xlsx").errors[0].en
    (tmp_path / "empty.csv").write_bytes(b"")
    assert "empty" in run_import("sites", tmp_path / "empty.csv").errors[0].en


def test_import_is_logged_with_who_and_why(tmp_path, db, django_user_model):
    user = django_user_model.objects.create_user("admin", is_superuser=True)
    run_import("sites", write_csv(tmp_path / "s.csv", SITES_HEADER, SITES), user,
               reason="月初站址更新", create_org=True)
    entry = AuditEntry.objects.get(object_type="sites")
    assert (entry.user, entry.action, entry.reason) == (user, "import", "月初站址更新")
    assert entry.after["created"] == 4


@pytest.mark.parametrize("kind", ["sites", "tenancies", "accounts", "rules"])
def test_export_round_trips_through_import(tmp_path, province, kind):
    out = tmp_path / f"{kind}.csv"
    n = export_kind(kind, None, "csv", out)
    assert n > 0
    result = run_import(kind, out)
    assert result.stored and result.counts.created == result.counts.updated == 0
    assert result.counts.unchanged == n


def test_xlsx_export_and_template(tmp_path, province):
    export_kind("sites", None, "xlsx", tmp_path / "sites.xlsx")
    table = read_table(tmp_path / "sites.xlsx")
    assert table.headers[:2] == ["site_code", "site_name"] and len(table.rows) == 4
    template = write_template("tenancies", tmp_path / "t.xlsx")
    headers = read_table(template).headers
    assert headers[0] == "租户服务编码*" and "服务终止日期" in headers


def test_export_neutralises_formulas_a_user_typed(tmp_path, province):
    Site.objects.filter(site_code="ZZ001").update(site_name='=HYPERLINK("http://evil","x")')
    export_kind("sites", None, "csv", tmp_path / "s.csv")
    with (tmp_path / "s.csv").open(encoding="utf-8-sig") as f:
        names = {row["site_code"]: row["site_name"] for row in csv.DictReader(f)}
    assert names["ZZ001"].startswith("'=")


def test_a_large_import_refreshes_statistics_of_the_tables_it_wrote_only(tmp_path, monkeypatch):
    """PostgreSQL: the planner sees a big import at once, without a database-wide ANALYZE
    (seconds at province scale) — only the tables the import wrote many rows to."""
    from django.db import connection

    from towerledger.exchange import services

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr(services, "ANALYZE_AFTER", 1)
    monkeypatch.setattr(services, "ANALYZE_TABLE_AFTER", 4)
    analysed = []
    real = services._refresh_statistics
    monkeypatch.setattr(services, "_refresh_statistics",
                        lambda tables: (analysed.extend(tables), real(tables)))
    with connection.cursor() as cur:   # each table's rows as its statistics counted them
        cur.execute("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'")
        counted = dict(cur.fetchall())
    result = run_import("sites", write_csv(tmp_path / "sites.csv", SITES_HEADER, SITES),
                        create_org=True)
    assert result.stored and result.counts.created == 4
    tables = {t for _, t in analysed}
    with connection.cursor() as cur:   # what this transaction wrote, table by table
        cur.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del "
                    "FROM pg_stat_xact_user_tables")
        written = dict(cur.fetchall())
        cur.execute("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                    "WHERE relname = %s", [Site._meta.db_table])
        assert cur.fetchone() == (True,)
    assert Site._meta.db_table in tables               # 4 sites written
    assert tables == {t for t, n in written.items()
                      if n >= 4 and n >= services.ANALYZE_TABLE_SHARE * counted[t]}
    assert written.get("collection_receipt", 0) == 0 and "collection_receipt" not in tables


def test_an_import_small_for_its_table_leaves_the_statistics_alone(tmp_path, monkeypatch):
    """A table is analysed again only when the import wrote a good share of what it held
    (autovacuum's rule): a few rows more hardly move a large table's statistics."""
    from django.db import connection

    from towerledger.exchange import services

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    monkeypatch.setattr(services, "ANALYZE_AFTER", 1)
    monkeypatch.setattr(services, "ANALYZE_TABLE_AFTER", 4)
    assert run_import("sites", write_csv(tmp_path / "a.csv", SITES_HEADER, SITES),
                      create_org=True).stored
    site = Site._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {site}")        # its statistics count the sites
        # the rows this transaction (the test's) wrote to it so far, and that count
        cur.execute("SELECT t.n_tup_ins + t.n_tup_upd + t.n_tup_del, c.reltuples "
                    "FROM pg_stat_xact_user_tables t JOIN pg_class c ON c.oid = t.relid "
                    "WHERE t.relname = %s", [site])
        written, counted = cur.fetchone()
    assert counted >= 4
    analysed = []
    monkeypatch.setattr(services, "_refresh_statistics", analysed.extend)
    more = [[f"XX{i:03d}", *row[1:6], "", *row[7:]] for i, row in enumerate(SITES)]
    # 4 rows more: short of the share by one row
    monkeypatch.setattr(services, "ANALYZE_TABLE_SHARE", (written + 4 + 1) / counted)
    assert run_import("sites", write_csv(tmp_path / "b.csv", SITES_HEADER, more)).stored
    assert site not in {t for _, t in analysed}
    more = [[f"YY{i:03d}", *row[1:6], "", *row[7:]] for i, row in enumerate(SITES)]
    monkeypatch.setattr(services, "ANALYZE_TABLE_SHARE", (written + 8) / counted)   # exactly
    assert run_import("sites", write_csv(tmp_path / "c.csv", SITES_HEADER, more)).stored
    assert site in {t for _, t in analysed}


def test_a_row_with_a_bad_column_still_gets_its_other_errors(tmp_path, province):
    # issue 16: a bad operator code used to hide the unknown site and the end before start
    rows = [["T-BAD", "NOPE", "XYZ", "2024-06-01", "2024-05-01", "RESALE", "", "abc", "20", ""],
            ["T-OK", "ZZ001", "CMCC", "2024-06-01", "", "RESALE", "", "1300", "20", ""]]
    result = run_import("tenancies", write_csv(tmp_path / "t.csv", TENANCIES_HEADER, rows))
    assert not result.stored
    found = {(e.row, e.column) for e in result.errors}
    assert {(2, "operator"), (2, "rated_power_w"), (2, "site_code")} <= found, found
    assert not any(e.row == 3 for e in result.errors)
    report = read_table(result.error_report)
    assert "NOPE" in report.rows[0][-1] and "XYZ" in report.rows[0][-1]

