"""The sub-meter and smart-meter imports on PostgreSQL's staged path (exchange.staged,
bills.staged_meters) against the Python path (bills.imports) on the same files: the same
errors (row, column, zh, en, in order), counts, rows set aside and stored rows — good rows
and bad (unknown sites, periods ending before they start, bad cells, repeated keys, a
clerk's scope), all or nothing and keep going, a file imported twice."""

import csv

import pytest
from django.db import connection

from tests.integration.staged_paths import both_paths
from towerledger.bills.models import MeterDay, SubmeterReading
from towerledger.exchange.services import run_import

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the staged path is PostgreSQL's"),
]

SUBMETER = ("site_code", "operator", "period_start", "period_end", "kwh")
SMART = ("site_code", "date", "kwh", "dc_current_a", "dc_voltage")


def write(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def stored():
    return (list(SubmeterReading.objects.order_by("pk").values_list(
                "site__site_code", "operator__code", "period_start", "period_end", "kwh")),
            list(MeterDay.objects.order_by("pk").values_list(
                "site__site_code", "date", "kwh", "dc_current_a", "dc_voltage")))


def compare(kind, path, user=None, keep_going=False):
    """Both paths on the same database state, each rolled back after; they agree."""
    python, staged = both_paths(kind, path, stored, user, keep_going)
    assert staged == python
    return [(e[0], e[1]) for e in python[0]], python[2]


SUB_GOOD = [
    ["ZZ001", "CMCC", "2024-05-01", "2024-05-31", "100"],
    ["ZZ001", "CUCC", "2024-05-01", "2024-05-31", "80.5"],
    ["LY001", "移动", "2024/05/01", "2024年5月31日", "12"],
]
SUB_BAD = [
    *SUB_GOOD,
    ["NOPE", "CMCC", "2024-05-01", "2024-05-31", "1"],            # unknown site
    ["ZZ002", "CTCC", "2024-05-31", "2024-05-01", "1"],           # ends before it starts
    ["ZZ002", "XYZ", "2024-05-01", "2024-05-31", "1"],            # bad operator
    ["ZZ001", "CMCC", "2024-05-01", "2024-05-31", "7"],           # repeats row 2
    ["NOPE", "CMCC", "2024-05-31", "2024-05-01", "-3"],           # three problems
]


def test_submeter_good_rows_then_the_same_file_again(tmp_path, province):
    path = write(tmp_path / "sub.csv", SUBMETER, SUB_GOOD)
    errors, counts = compare("submeter", path)
    assert errors == [] and (counts.created, counts.updated, counts.unchanged) == (3, 0, 0)
    assert run_import("submeter", path).stored
    SUB_GOOD[1][4] = "81"
    try:
        errors, counts = compare("submeter", write(tmp_path / "sub2.csv", SUBMETER, SUB_GOOD))
    finally:
        SUB_GOOD[1][4] = "80.5"
    assert (counts.created, counts.updated, counts.unchanged) == (0, 1, 2)


@pytest.mark.parametrize("keep_going", [False, True])
def test_submeter_bad_rows(tmp_path, province, keep_going):
    errors, counts = compare("submeter", write(tmp_path / "sub.csv", SUBMETER, SUB_BAD),
                             keep_going=keep_going)
    assert (5, "site_code") in errors and (6, "period_end") in errors
    assert (7, "operator") in errors
    assert (8, "site_code") in errors                           # the repeat, on the key
    assert {c for r, c in errors if r == 9} >= {"site_code", "period_end", "kwh"}
    assert (counts is None) is not keep_going


SMART_ROWS = [
    ["ZZ001", "2024-05-01", "100", "52.1", "53.5"],
    ["ZZ001", "2024-05-02", "101.25", "", ""],
    ["ZZ002", "45413", "99", "50", "53.4"],                       # an Excel serial date
    ["NOPE", "2024-05-01", "1", "", ""],
    ["ZZ002", "2024-05-02", "1.234", "", ""],                     # too many decimals
    ["ZZ001", "2024-05-01", "7", "", ""],                         # repeats row 2
    ["LY001", "2024-05-01", "5", "", ""],
]


@pytest.mark.parametrize("keep_going", [False, True])
def test_smartmeter_paths_agree_and_a_clerk_writes_only_their_city(tmp_path, users,
                                                                   keep_going):
    path = write(tmp_path / "smart.csv", SMART, SMART_ROWS)
    errors, _ = compare("smartmeter", path, keep_going=keep_going)
    assert (5, "site_code") in errors and (6, "kwh") in errors
    errors, _ = compare("smartmeter", path, users["clerk_zz"], keep_going=keep_going)
    assert (8, "site_code") in errors                            # Luoyang's site


def test_smartmeter_good_file_stored(tmp_path, province):
    rows = [r for r in SMART_ROWS if r[0] != "NOPE" and r[2] != "1.234" and r[2] != "7"]
    errors, counts = compare("smartmeter", write(tmp_path / "smart.csv", SMART, rows))
    assert errors == [] and counts.created == 4
