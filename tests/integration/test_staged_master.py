"""The sites and allocation-rules imports on PostgreSQL's staged path (exchange.staged,
sites.staged) against the Python path (sites.imports) on the same files: the same errors
(row, column, zh, en, in the result's order), the same counts, the same rows set aside and
the same stored rows, inserted in the same order — good rows and bad (unknown sites and
hosts, repeats, bad cells beside other problems, host cycles, decommission dates, archived
sites, organisation data, a clerk's scope), all or nothing and keep going."""

from datetime import date

import pytest
from django.db import connection

from tests.helpers import RULES_HEADER, SITES_HEADER, write_csv
from tests.integration.staged_paths import both_paths
from towerledger.domain.codes import SiteStatus
from towerledger.exchange import staged as staging
from towerledger.exchange.services import run_import
from towerledger.org.models import City, County, Province
from towerledger.sites.models import AllocationRule, Site

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the staged path is PostgreSQL's"),
]


def stored():
    return {
        "sites": list(Site.objects.order_by("pk").values_list(
            "site_code", "site_name", "county__city__province__name", "county__city__name",
            "county__name", "site_type", "host_site__site_code", "status", "decommission_date",
            "longitude", "latitude")),
        "rules": list(AllocationRule.objects.order_by("pk").values_list(
            "site__site_code", "effective_from", "method", "fallback_method", "common_policy",
            "tower_share")),
        "org": (sorted(Province.objects.values_list("name", flat=True)),
                sorted(City.objects.values_list("province__name", "name")),
                sorted(County.objects.values_list("city__name", "name"))),
    }


def compare(kind, path, user=None, keep_going=False, create_org=False):
    """Both paths on the same database state, each rolled back after; they agree. Returns
    the errors (row, column) and the counts (None: nothing stored)."""
    python, staged = both_paths(kind, path, stored, user, keep_going, create_org=create_org)
    assert staged[0] == python[0]        # errors, in the result's order
    assert staged[1:] == python[1:]      # counts, rows set aside, stored rows in pk order
    return [(e[0], e[1]) for e in python[0]], python[2]


def sites(tmp_path, rows):
    return write_csv(tmp_path / "s.csv", SITES_HEADER, rows)


def rules(tmp_path, rows):
    return write_csv(tmp_path / "r.csv", RULES_HEADER, rows)


# ---- sites ------------------------------------------------------------------------------

S_GOOD = [
    ["ZZ001", "金水一号", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "113.65", "34.76"],
    ["ZZ002", "金水二号（改名）", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""],
    # a chain of new sites hanging off each other, listed before their hosts
    ["ZZ012", "微站乙", "河南省", "郑州市", "金水区", "SMALL", "ZZ011", "", "", "", ""],
    ["ZZ011", "微站甲", "河南省", "郑州市", "金水区", "SMALL", "ZZ010", "", "", "", ""],
    ["ZZ010", "新宏站", "河南省", "郑州市", "金水区", "MACRO", "ZZ001", "", "", "113.1", "-34.5"],
    ["ZZ003", "金水微站", "河南省", "郑州市", "金水区", "SMALL", "ZZ001", "", "", "", ""],
    ["LY009", "新县站", "河南省", "洛阳市", "新区县", "MACRO", "", "DECOMMISSIONED", "2024-03-01",
     "", ""],
]


def test_sites_good_rows(tmp_path, province):
    errors, counts = compare("sites", sites(tmp_path, S_GOOD))
    assert errors == []
    assert (counts.created, counts.updated, counts.unchanged) == (4, 1, 2)


def test_sites_imported_twice_change_nothing_the_second_time(tmp_path, province):
    path = sites(tmp_path, S_GOOD)
    assert run_import("sites", path).stored
    errors, counts = compare("sites", path)
    assert (counts.created, counts.updated, counts.unchanged) == (0, 0, 7)


S_BAD = [
    *S_GOOD[:2],
    ["ZZ020", "自挂", "河南省", "郑州市", "金水区", "MACRO", "ZZ020", "", "", "", ""],
    ["ZZ021", "无宿主", "河南省", "郑州市", "金水区", "SMALL", "NOPE", "", "", "", ""],
    ["ZZ022", "环甲", "河南省", "郑州市", "金水区", "SMALL", "ZZ023", "", "", "", ""],
    ["ZZ023", "环乙", "河南省", "郑州市", "金水区", "SMALL", "ZZ022", "", "", "", ""],
    ["ZZ024", "挂在环上", "河南省", "郑州市", "金水区", "SMALL", "ZZ022", "", "", "", ""],
    ["ZZ025", "拆站无日期", "河南省", "郑州市", "金水区", "MACRO", "", "DECOMMISSIONED", "", "",
     ""],
    ["ZZ026", "有日期在网", "河南省", "郑州市", "金水区", "MACRO", "", "ACTIVE", "2024-01-01",
     "", ""],
    ["ZZ001", "重复", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""],
    # bad cells, and more wrong with the row: every error is told
    ["ZZ027", "坏格", "河南省", "郑州市", "金水区", "TOWERX", "NOPE2", "", "2024-01-01", "200",
     ""],
    ["ZZ028", "坏省", "河南", "郑州市", "金水区", "MACRO", "", "", "", "", ""],
    ["ZZ029", "坏市", "河南省", "郑州", "金水区", "MACRO", "", "", "", "", ""],
    ["ZZ030", "挂无宿主", "河南省", "郑州市", "金水区", "MACRO", "ZZ021", "", "", "", ""],
    ["", "无编码", "河南省", "郑州市", "金水区", "MACRO", "NOPE3", "", "", "", ""],
]


@pytest.mark.parametrize("keep_going", [False, True])
def test_sites_bad_rows(tmp_path, province, keep_going):
    errors, counts = compare("sites", sites(tmp_path, S_BAD), keep_going=keep_going)
    assert {(4, "host_site_code"), (5, "host_site_code"), (6, "host_site_code"),
            (7, "host_site_code"), (9, "decommission_date"), (10, "status"),
            (11, "站址编码"), (12, "站址类型"), (12, "经度"), (12, "host_site_code"),
            (12, "status"), (13, "province"), (14, "city"), (16, "站址编码")} <= set(errors), errors
    assert (counts is not None) == keep_going
    # ZZ030 hangs off ZZ021, set aside: unknown in the second round
    assert ((15, "host_site_code") in errors) == keep_going


def test_sites_with_create_org_and_new_counties(tmp_path, users):
    rows = [["ZZ040", "新市站", "河南省", "开封市", "鼓楼区", "MACRO", "", "", "", "", ""],
            ["ZZ041", "新县站", "河南省", "郑州市", "新县", "MACRO", "", "", "", "", ""],
            ["ZZ042", "新省站", "河北省", "石家庄市", "长安区", "MACRO", "", "", "", "", ""]]
    path = sites(tmp_path, rows)
    errors, _ = compare("sites", path)
    assert errors == [(2, "city"), (4, "province")]
    errors, counts = compare("sites", path, create_org=True)
    assert errors == [] and counts.created == 3
    errors, _ = compare("sites", path, users["admin"])
    assert errors == [(2, "city"), (4, "province")]
    errors, _ = compare("sites", sites(tmp_path, rows[1:2]), users["clerk_zz"])
    assert errors == [(2, "county")]


def test_sites_scope_of_a_city_clerk(tmp_path, users):
    rows = [
        ["ZZ001", "金水一号", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "113.65", "34.76"],
        # a Luoyang site renamed, moved to Zhengzhou, a host of Luoyang, a new Luoyang site
        ["LY001", "改名", "河南省", "洛阳市", "西工区", "MACRO", "", "", "", "", ""],
        ["LY001", "搬走", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""],
        ["ZZ050", "挂洛阳", "河南省", "郑州市", "金水区", "SMALL", "LY001", "", "", "", ""],
        ["LY050", "新洛阳站", "河南省", "洛阳市", "西工区", "MACRO", "", "DECOMMISSIONED", "", "",
         ""],
        ["ZZ051", "新站", "河南省", "郑州市", "金水区", "MACRO", "NOPE", "", "", "", ""],
    ]
    for keep_going in (False, True):
        errors, counts = compare("sites", sites(tmp_path, rows), users["clerk_zz"], keep_going)
        assert errors == [(3, "city"), (3, "site_code"), (4, "站址编码"), (5, "host_site_code"),
                          (6, "city"), (7, "host_site_code")], errors
    compare("sites", sites(tmp_path, rows), users["admin"], keep_going=True)


def test_sites_keep_an_archive_as_it_is(tmp_path, province):
    Site.objects.filter(site_code="LY001").update(status=SiteStatus.ARCHIVED,
                                                  decommission_date=date(2024, 6, 15))
    rows = [
        ["LY001", "西工一号", "河南省", "洛阳市", "西工区", "MACRO", "", "ARCHIVED", "2024-06-15",
         "", ""],
        ["ZZ002", "金水二号", "河南省", "郑州市", "金水区", "MACRO", "", "ARCHIVED", "2024-06-15",
         "", ""],
    ]
    for keep_going in (False, True):
        errors, _ = compare("sites", sites(tmp_path, rows), keep_going=keep_going)
        assert errors == [(3, "status")]
    rows[0][7] = "DECOMMISSIONED"
    errors, _ = compare("sites", sites(tmp_path, rows[:1]))
    assert errors == [(2, "status")]


# ---- allocation rules -------------------------------------------------------------------

R_GOOD = [
    ["ZZ001", "2024-01-01", "DC_CURRENT", "EQUAL", "PRO_RATA", "0"],        # unchanged
    ["ZZ002", "2023-06-01", "EQUAL", "", "", "2.5%"],                        # changed
    ["ZZ002", "2025-01-01", "FIXED_RATIO", "", "", ""],                      # new
    ["ZZ003", "2024-01-01", "SUBMETER", "RATED_POWER", "EQUAL", "1.25"],     # new
]


def test_rules_good_rows(tmp_path, province):
    errors, counts = compare("rules", rules(tmp_path, R_GOOD))
    assert errors == []
    assert (counts.created, counts.updated, counts.unchanged) == (2, 1, 1)


R_BAD = [
    *R_GOOD,
    ["NOPE", "2024-01-01", "EQUAL", "", "", ""],
    ["ZZ001", "2024-02-01", "EQUAL", "SUBMETER", "", ""],
    ["ZZ001", "2024-01-01", "EQUAL", "", "", ""],                             # a repeat
    ["NOPE2", "2024-13-01", "EQUAL", "SUBMETER", "", "101"],                  # bad key cell
    ["NOPE3", "2024-01-01", "EQUAL", "SUBMETER", "", "101"],                  # bad cell and more
    ["", "2024-01-01", "EQUAL", "", "", ""],
]


@pytest.mark.parametrize("keep_going", [False, True])
def test_rules_bad_rows(tmp_path, province, keep_going):
    errors, counts = compare("rules", rules(tmp_path, R_BAD), keep_going=keep_going)
    assert errors == [(6, "site_code"), (7, "fallback_method"), (8, "site_code"),
                      (9, "effective_from"), (9, "tower_share"), (10, "fallback_method"),
                      (10, "site_code"), (10, "tower_share"), (11, "site_code")]
    assert (counts is not None) == keep_going


def test_rules_of_an_archived_site_and_a_clerks_scope(tmp_path, users):
    Site.objects.filter(site_code="ZZ003").update(status=SiteStatus.ARCHIVED,
                                                  decommission_date=date(2024, 6, 15))
    rows = [*R_GOOD, ["LY001", "2024-01-01", "EQUAL", "SUBMETER", "", ""],
            ["NOPE", "2024-01-01", "EQUAL", "", "", ""]]
    for keep_going in (False, True):
        errors, _ = compare("rules", rules(tmp_path, rows), keep_going=keep_going)
        assert errors == [(5, "site_code"), (6, "fallback_method"), (7, "site_code")]
        errors, _ = compare("rules", rules(tmp_path, rows), users["clerk_zz"], keep_going)
        assert errors == [(5, "site_code"), (6, "site_code"), (7, "site_code")]


def test_rules_in_parts_with_many_bad_cells(tmp_path, province, monkeypatch):
    """A streamed kind's rows with a bad cell are checked further only in parts holding at
    most PARTIAL_ROWS of them (services._check_partial per part of CHUNK_ROWS rows)."""
    from towerledger.exchange import services

    monkeypatch.setattr(services, "CHUNK_ROWS", 4)
    monkeypatch.setattr(services, "PARTIAL_ROWS", 2)
    monkeypatch.setattr(staging, "PARTIAL_PART", 4)
    monkeypatch.setattr(staging, "PARTIAL_ROWS", 2)
    bad = ["NOPE", "2024-01-01", "EQUAL", "", "", "abc"]
    rows = [*R_GOOD, bad, bad, R_GOOD[0], ["ZZ001", "2024-05-01", "EQUAL", "", "", ""],
            bad, bad, bad]
    errors, _ = compare("rules", rules(tmp_path, rows))
    assert (6, "site_code") in errors and (10, "site_code") not in errors
