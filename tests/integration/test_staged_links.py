"""The tenancies and accounts imports on PostgreSQL, set-based (sites.staged_links), against
the Python path (sites.imports) on the same files: the same errors (row, column, zh, en),
the same counts and the same stored rows — good rows and bad (unknown sites, ends before
starts, splits not summing, accounts disagreeing, repeats, archived sites, scope), all or
nothing and keep going."""

from dataclasses import replace
from datetime import date

import pytest
from django.db import connection, transaction

from tests.helpers import ACCOUNTS_HEADER, TENANCIES_HEADER, write_csv
from towerledger.domain.codes import SiteStatus
from towerledger.exchange import staged as staging
from towerledger.exchange.registry import KINDS, register
from towerledger.exchange.services import run_import
from towerledger.sites import staged_links
from towerledger.sites.models import AccountSite, Site, SupplyAccount, Tenancy, TenancyRatio

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the staged path is PostgreSQL's"),
]

RATIO_HEADER = [*TENANCIES_HEADER, "effective_from"]
STAGED = {"tenancies": staged_links.TENANCIES, "accounts": staged_links.ACCOUNTS}


def run(name, path, user, keep_going, staged: bool):
    """run_import by the staged path (this module's SQL) or the Python path."""
    saved = KINDS[name]
    register(replace(saved, staged=STAGED[name]))
    assert staging.applies(KINDS[name], False, staged) is staged
    try:
        result = run_import(name, path, user, keep_going=keep_going, staged=staged)
    finally:
        register(saved)
    errors = [(e.row, e.column, e.zh, e.en) for e in result.errors]
    return errors, result.counts if result.stored else None, result.set_aside


def run_python(name, path, user=None, keep_going=False):
    return run(name, path, user, keep_going, staged=False)


def run_staged(name, path, user=None, keep_going=False):
    return run(name, path, user, keep_going, staged=True)


def stored():
    return {
        "tenancies": sorted(Tenancy.objects.values_list(
            "tenancy_id", "site__site_code", "operator__code", "start_date", "end_date",
            "settlement_mode", "lump_sum_monthly", "rated_power_w", "dc_current_a",
            "agreed_ratio")),
        "ratios": sorted(TenancyRatio.objects.values_list(
            "tenancy__tenancy_id", "effective_from", "agreed_ratio")),
        "accounts": sorted(SupplyAccount.objects.values_list(
            "account_no", "supply_mode", "supplier_type", "supplier_name", "input_invoice_type",
            "contract_price", "price_cap", "payment_cycle_months", "multiplier", "lump_sum")),
        "splits": sorted(AccountSite.objects.values_list(
            "account__account_no", "site__site_code", "split_ratio")),
    }


def compare(name, path, user=None, keep_going=False):
    """Both paths on the same database state; each rolled back after. Returns what they
    found (the same)."""
    out = []
    for how in (run_python, run_staged):
        with transaction.atomic():
            errors, counts, aside = how(name, path, user, keep_going)
            out.append((errors, counts, aside, stored()))
            transaction.set_rollback(True)
    python, staged = out
    assert staged[0] == python[0]           # errors, in the result's order
    assert staged[1:] == python[1:]         # counts, rows set aside, stored rows
    return python[0], python[1]


def tenancies(tmp_path, rows, header=RATIO_HEADER):
    return write_csv(tmp_path / "t.csv", header, rows)


def accounts(tmp_path, rows):
    return write_csv(tmp_path / "a.csv", ACCOUNTS_HEADER, rows)


# ---- tenancies --------------------------------------------------------------------------

T_GOOD = [
    # unchanged, as the province holds it
    ["T-ZZ001-CMCC", "ZZ001", "CMCC", "2024-01-01", "", "RESALE", "", "3500", "40", "", ""],
    # changed: an end date
    ["T-ZZ001-CUCC", "ZZ001", "CUCC", "2024-01-01", "2025-01-31", "RESALE", "", "1300", "25",
     "", ""],
    # unchanged tenancy, a new dated ratio (counts as updated)
    ["T-ZZ002-CMCC", "ZZ002", "CMCC", "2023-06-01", "", "ON_BEHALF", "", "1300", "20", "55",
     "2025-01-01"],
    # unchanged tenancy, its ratio from the start changed
    ["T-ZZ002-CTCC", "ZZ002", "CTCC", "2023-06-01", "", "RESALE", "", "1300", "20", "45", ""],
    # new, with a ratio; new, overlapping another of the same operator on the site
    ["T-ZZ003-CMCC", "ZZ003", "CMCC", "2024-02-01", "", "LUMP_SUM", "300.5", "", "", "100",
     ""],
    ["T-ZZ001-CMCC2", "ZZ001", "CMCC", "2024-03-01", "", "RESALE", "", "", "12.5", "", ""],
    # unchanged, the same ratio again
    ["T-LY001-CUCC", "LY001", "CUCC", "2022-01-01", "", "LUMP_SUM", "800", "1300", "22", "",
     ""],
]


def test_tenancies_good_rows(tmp_path, province):
    errors, counts = compare("tenancies", tenancies(tmp_path, T_GOOD))
    assert errors == []
    assert (counts.created, counts.updated, counts.unchanged) == (2, 3, 2)


def test_tenancies_a_file_imported_twice_changes_nothing_the_second_time(tmp_path, province):
    path = tenancies(tmp_path, T_GOOD)
    assert run_python("tenancies", path)[1] is not None
    errors, counts = compare("tenancies", path)
    assert (counts.created, counts.updated, counts.unchanged) == (0, 0, 7)


T_BAD = [
    *T_GOOD[:3],
    ["T-NOSITE", "NOPE", "CMCC", "2024-01-01", "", "RESALE", "", "", "", "", ""],
    ["T-BACKWARDS", "ZZ001", "CTCC", "2024-06-01", "2024-05-01", "RESALE", "", "", "", "",
     ""],
    ["T-NOLUMP", "ZZ002", "CUCC", "2024-06-01", "", "LUMP_SUM", "", "", "", "", ""],
    ["T-NORATIO", "ZZ002", "CUCC", "2024-06-01", "", "RESALE", "", "", "", "", "2024-07-01"],
    ["T-ZZ001-CMCC", "ZZ001", "CMCC", "2024-01-01", "", "RESALE", "", "9", "40", "", ""],
    ["T-BADCELL", "ZZ001", "XYZ", "2024-01-01", "", "RESALE", "", "", "", "", ""],
    ["T-TWICE", "NOPE2", "CMCC", "2024-09-01", "2024-08-01", "LUMP_SUM", "", "", "", "",
     "2024-01-01"],
    # bad cells, and more wrong with the row: every error is told
    ["T-PARTIAL", "NOPE3", "XYZ", "2024-06-01", "2024-05-01", "RESALE", "", "abc", "20", "",
     ""],
]


@pytest.mark.parametrize("keep_going", [False, True])
def test_tenancies_bad_rows(tmp_path, province, keep_going):
    errors, counts = compare("tenancies", tenancies(tmp_path, T_BAD), keep_going=keep_going)
    found = {(e[0], e[1]) for e in errors}
    assert {(5, "site_code"), (6, "end_date"), (7, "lump_sum_monthly"), (8, "effective_from"),
            (9, "tenancy_id"), (11, "site_code"), (11, "end_date"), (11, "lump_sum_monthly"),
            (11, "effective_from"), (12, "operator"), (12, "rated_power_w"), (12, "site_code"),
            (12, "end_date")} <= found, found
    assert (counts is not None) == keep_going


def test_tenancies_of_an_archived_site(tmp_path, province):
    Site.objects.filter(site_code="LY001").update(status=SiteStatus.ARCHIVED,
                                                  decommission_date=date(2024, 6, 15))
    rows = [
        ["T-LY001-CUCC", "LY001", "CUCC", "2022-01-01", "", "LUMP_SUM", "800", "", "", "", ""],
        ["T-LY001-CTCC", "LY001", "CTCC", "2022-01-01", "2024-03-31", "RESALE", "", "", "",
         "", ""],
        ["T-LY001-X", "LY001", "CMCC", "2022-01-01", "2024-07-01", "RESALE", "", "", "", "",
         ""],
    ]
    for keep_going in (False, True):
        errors, _ = compare("tenancies", tenancies(tmp_path, rows), keep_going=keep_going)
        assert [(e[0], e[1]) for e in errors] == [(2, "site_code"), (4, "site_code")]


def test_tenancies_scope_of_a_city_clerk(tmp_path, users):
    rows = [
        ["T-ZZ001-CMCC", "ZZ001", "CMCC", "2024-01-01", "", "RESALE", "", "3500", "41", "", ""],
        ["T-LY001-CUCC", "LY001", "CUCC", "2022-01-01", "", "LUMP_SUM", "800", "", "", "", ""],
        # a tenancy of Luoyang moved onto a Zhengzhou site
        ["T-LY001-CTCC", "ZZ001", "CTCC", "2022-01-01", "", "RESALE", "", "", "", "", ""],
        # outside, and also wrong: only the scope is told
        ["T-LY-NEW", "LY001", "CUCC", "2024-01-01", "2023-01-01", "RESALE", "", "", "", "", ""],
        ["T-ZZ-NEW", "ZZ003", "CUCC", "2024-01-01", "", "RESALE", "", "", "", "", ""],
    ]
    for keep_going in (False, True):
        errors, counts = compare("tenancies", tenancies(tmp_path, rows), users["clerk_zz"],
                                 keep_going)
        assert [(e[0], e[1]) for e in errors] == [
            (3, "site_code"), (3, "tenancy_id"), (4, "tenancy_id"), (5, "site_code")]
        assert all(e[3].startswith("outside your scope: ") for e in errors)
    compare("tenancies", tenancies(tmp_path, rows), users["admin"])


# ---- accounts ---------------------------------------------------------------------------

A_GOOD = [
    # unchanged
    ["A-100", "RESUPPLY", "LANDLORD", "张三", "GENERAL", "1.10", "1.50", "1", "1", "ZZ001",
     "100"],
    # no longer feeds ZZ003 (every row of it updated), ZZ002 takes all
    ["A-200", "DIRECT", "GRID", "郑州供电公司", "SPECIAL_13", "0.62", "0.90", "1", "80",
     "ZZ002", "100"],
    # a field changed, same split
    ["A-300", "RESUPPLY", "PROPERTY", "", "SPECIAL_3", "1.20", "", "3", "", "LY001", "100"],
    # new, feeding two sites
    ["A-400", "RESUPPLY", "LANDLORD", "李四", "SPECIAL_1", "", "", "2", "1.5", "ZZ001",
     "33.333333"],
    ["A-400", "RESUPPLY", "LANDLORD", "李四", "SPECIAL_1", "", "", "2", "1.5", "ZZ003",
     "66.666667"],
]


def test_accounts_good_rows(tmp_path, province):
    errors, counts = compare("accounts", accounts(tmp_path, A_GOOD))
    assert errors == []
    assert (counts.created, counts.updated, counts.unchanged) == (2, 2, 1)


def test_accounts_split_changes_and_reimport(tmp_path, province):
    rows = [
        ["A-200", "DIRECT", "GRID", "郑州供电公司", "SPECIAL_13", "0.62", "0.90", "1", "80",
         "ZZ002", "60"],
        ["A-200", "DIRECT", "GRID", "郑州供电公司", "SPECIAL_13", "0.62", "0.90", "1", "80",
         "ZZ003", "30"],
        ["A-200", "DIRECT", "GRID", "郑州供电公司", "SPECIAL_13", "0.62", "0.90", "1", "80",
         "ZZ001", "10"],
    ]
    path = accounts(tmp_path, rows)
    errors, counts = compare("accounts", path)
    assert (counts.created, counts.updated, counts.unchanged) == (1, 1, 1)
    run_python("accounts", path)
    errors, counts = compare("accounts", path)
    assert (counts.created, counts.updated, counts.unchanged) == (0, 0, 3)


A_BAD = [
    *A_GOOD[:2],
    # splits summing to 99.5
    ["A-500", "RESUPPLY", "LANDLORD", "王五", "GENERAL", "1.00", "", "1", "1", "ZZ001", "49.5"],
    ["A-500", "RESUPPLY", "LANDLORD", "王五", "GENERAL", "1.00", "", "1", "1", "ZZ002", "50"],
    # rows of one account disagreeing (and an unknown site among them)
    ["A-600", "RESUPPLY", "LANDLORD", "赵六", "GENERAL", "1.60", "1.50", "1", "1", "ZZ001",
     "50"],
    ["A-600", "DIRECT", "GRID", "赵六", "SPECIAL_13", "1.60", "1.50", "2", "2", "NOPE", "50"],
    # a repeat of (account, site)
    ["A-100", "RESUPPLY", "LANDLORD", "张三", "GENERAL", "1.10", "1.50", "1", "1", "ZZ001",
     "100"],
    # a bad cell
    ["A-700", "RESUPPLY", "LANDLORD", "", "NOPE", "", "", "1", "1", "ZZ001", "100"],
    # splits summing to 100 but one row bad: keep going sets the others aside too
    ["A-800", "RESUPPLY", "LANDLORD", "", "GENERAL", "", "", "1", "1", "ZZ002", "40"],
    ["A-800", "RESUPPLY", "LANDLORD", "", "GENERAL", "", "", "1", "1", "NOPE", "60"],
]


@pytest.mark.parametrize("keep_going", [False, True])
def test_accounts_bad_rows(tmp_path, province, keep_going):
    errors, counts = compare("accounts", accounts(tmp_path, A_BAD), keep_going=keep_going)
    found = {(e[0], e[1]) for e in errors}
    assert {(4, "split_ratio"), (5, "split_ratio"), (6, "contract_price"),
            (7, "supply_mode"), (7, "payment_cycle_months"), (7, "site_code"),
            (8, "account_no"), (11, "site_code")} <= found, found
    assert any("99.500000" in e[3] for e in errors)
    assert (counts is not None) == keep_going
    if keep_going:
        assert (10, "split_ratio") in found   # its partner row fell out


def test_accounts_of_an_archived_site(tmp_path, province):
    Site.objects.filter(site_code="LY001").update(status=SiteStatus.ARCHIVED,
                                                  decommission_date=date(2024, 6, 15))
    for keep_going in (False, True):
        errors, _ = compare("accounts", accounts(tmp_path, A_GOOD), keep_going=keep_going)
        assert [(e[0], e[1]) for e in errors] == [(4, "site_code")]


def test_accounts_scope_of_a_city_clerk(tmp_path, users):
    rows = [
        *A_GOOD[:2],
        # an account of Luoyang
        ["A-300", "RESUPPLY", "PROPERTY", "物业", "SPECIAL_3", "1.20", "", "3", "1", "LY001",
         "100"],
        # a Zhengzhou account made to feed Luoyang too
        ["A-100", "RESUPPLY", "LANDLORD", "张三", "GENERAL", "1.10", "1.50", "1", "1", "LY001",
         "10"],
        ["A-900", "RESUPPLY", "LANDLORD", "", "GENERAL", "", "", "1", "1", "ZZ003", "100"],
    ]
    for keep_going in (False, True):
        errors, _ = compare("accounts", accounts(tmp_path, rows), users["clerk_zz"],
                            keep_going)
        assert {(4, "site_code"), (4, "account_no"), (5, "site_code")} <= {
            (e[0], e[1]) for e in errors}
    # an account that also feeds another city is not the clerk's to change
    AccountSite.objects.create(account=SupplyAccount.objects.get(account_no="A-100"),
                               site=Site.objects.get(site_code="LY001"), split_ratio=0)
    errors, _ = compare("accounts", accounts(tmp_path, A_GOOD[:1]), users["clerk_zz"])
    assert [(e[0], e[1]) for e in errors] == [(2, "account_no")]
    compare("accounts", accounts(tmp_path, rows), users["admin"])


def test_tenancies_ratio_history_and_moves(tmp_path, province):
    rows = [
        # an earlier dated ratio: the current one stays the latest (60 from 2023-06-01)
        ["T-ZZ002-CMCC", "ZZ002", "CMCC", "2023-06-01", "", "ON_BEHALF", "", "1300", "20", "50",
         "2023-01-01"],
        # moved to another site and operator, and its ratio given the same again
        ["T-ZZ002-CTCC", "ZZ001", "CUCC", "2023-06-01", "", "RESALE", "", "1300", "20", "40",
         ""],
    ]
    errors, counts = compare("tenancies", tenancies(tmp_path, rows))
    assert errors == [] and (counts.created, counts.updated, counts.unchanged) == (0, 2, 0)
    run_staged("tenancies", tenancies(tmp_path, rows))
    assert Tenancy.objects.get(tenancy_id="T-ZZ002-CMCC").agreed_ratio == 60
    assert TenancyRatio.objects.filter(tenancy__tenancy_id="T-ZZ002-CMCC").count() == 2
