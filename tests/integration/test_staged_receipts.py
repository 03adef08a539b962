"""The receipts import on PostgreSQL's staged path (exchange.staged,
collection.staged_receipts) against the Python path (collection.kinds) on the same files:
the same errors (row, column, zh, en, in order), counts, rows set aside, stored receipts,
postings, applications and outcome — good rows and bad (unknown cities, future dates, a
receipt number imported before with other content, bad cells, repeated numbers), a clerk's
scope, all or nothing and keep going, matching on import, a file imported twice."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from tests.helpers import write_csv
from tests.integration.staged_paths import both_paths
from tests.integration.test_collection import RECEIPT_HEADER, confirmed, month  # noqa: F401
from towerledger.collection import services
from towerledger.collection.models import Receipt
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.settlement.models import Application

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the staged path is PostgreSQL's"),
]


def ids_apart(reference: str) -> str:
    """A matching voucher's reference names its applications' ids (A<first>-<last>), which
    differ between two runs rolled back on one database: their span is what counts."""
    return re.sub(r"A(\d+)-(\d+)", lambda m: f"A+{int(m[2]) - int(m[1])}", reference)


def stored():
    return (
        list(Receipt.objects.order_by("pk").values_list(
            "receipt_no", "operator__code", "city__name", "amount", "received_date",
            "reference", "applied", "status")),
        [(d, k, ids_apart(r), m, u) for d, k, r, m, u in JournalEntry.objects.order_by("pk")
         .values_list("date", "kind", "reference", "memo", "created_by__username")],
        [(ids_apart(r), *rest) for r, *rest in JournalLine.objects.order_by("pk").values_list(
            "entry__reference", "account", "site_id", "operator__code", "debit", "credit")],
        list(Application.objects.order_by("pk").values_list(
            "receipt__receipt_no", "line_id", "statement__number", "amount", "rule")),
    )


def compare(path, user=None, keep_going=False):
    """Both paths on the same database state, each rolled back after; they agree."""
    python, staged = both_paths("receipts", path, stored, user, keep_going)
    assert staged[0] == python[0]
    assert staged[1:] == python[1:]
    return [(e[0], e[1]) for e in python[0]], python[2]


def today(days=0):
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def good():
    return [
        ["R-1", "CMCC", "郑州市", "100.00", today(-3), "电费 ST-1"],
        ["R-2", "移动", "洛阳市", "12.5", today(-1), ""],
        ["R-3", "CTCC", "", "7", today(), "五月电费"],
        ["R-4", "CUCC", "郑州市", "3", today(-40), ""],
    ]


def test_good_receipts_then_the_same_file_again(province, tmp_path):
    path = write_csv(tmp_path / "r.csv", RECEIPT_HEADER, good(), encoding="gb18030")
    errors, counts = compare(path)
    assert errors == [] and (counts.created, counts.unchanged) == (4, 0)
    assert run_import("receipts", path).stored
    errors, counts = compare(path)
    assert errors == [] and (counts.created, counts.unchanged) == (0, 4)


BAD = [
    *good(),
    ["R-5", "CMCC", "开封市", "1.00", today(-1), ""],                  # unknown city
    ["R-6", "CMCC", "郑州市", "1.00", today(2), ""],                   # in the future
    ["R-7", "XYZ", "郑州市", "abc", today(-1), ""],                    # two bad cells
    ["R-1", "CMCC", "郑州市", "100.00", today(-3), ""],                # repeats row 2
    ["R-8", "CMCC", "开封市", "-5", today(9), ""],                     # bad amount, and more
    ["", "CMCC", "郑州市", "1.00", today(-1), ""],                     # no number
    ["R-9", "CMCC", "郑州市", "1.001", "2024-02-30", "x\ty"],           # bad amount and date
]


def test_bad_rows_all_or_nothing_and_keep_going(province, tmp_path):
    path = write_csv(tmp_path / "r.csv", RECEIPT_HEADER, BAD)
    errors, counts = compare(path)
    assert counts is None and (6, "city") in errors and (7, "received_date") in errors
    assert (11, "回款编号") in errors
    errors, counts = compare(path, keep_going=True)
    assert counts.created == 4


def test_a_receipt_imported_before_with_other_content(province, tmp_path):
    assert run_import("receipts", write_csv(tmp_path / "a.csv", RECEIPT_HEADER, good())).stored
    rows = good()
    rows[0][3] = "100.01"                     # the amount changed
    rows[1][2] = ""                           # the city dropped
    rows[2][5] = ""                           # the reference dropped
    rows.append(["R-10", "CMCC", "郑州市", "5.00", today(-2), ""])
    path = write_csv(tmp_path / "b.csv", RECEIPT_HEADER, rows)
    errors, counts = compare(path)
    assert errors == [(2, "receipt_no"), (3, "receipt_no"), (4, "receipt_no")]
    errors, counts = compare(path, keep_going=True)
    assert (counts.created, counts.unchanged) == (1, 1)


def test_a_clerk_imports_their_own_city_only(province, users, tmp_path):
    assert run_import("receipts", write_csv(tmp_path / "a.csv", RECEIPT_HEADER, [
        ["R-LY", "CMCC", "洛阳市", "3.00", today(-1), ""]])).stored
    rows = [
        ["R-1", "CMCC", "郑州市", "1.00", today(-1), ""],
        ["R-2", "CMCC", "洛阳市", "1.00", today(-1), ""],                 # another city
        ["R-3", "CMCC", "", "1.00", today(-1), ""],                       # the province's
        ["R-LY", "CMCC", "郑州市", "3.00", today(-1), ""],                # another city's number
        ["R-4", "CMCC", "洛阳市", "1.00", today(3), ""],                  # outside, and future
    ]
    path = write_csv(tmp_path / "b.csv", RECEIPT_HEADER, rows)
    for user in (users["clerk_zz"], users["admin"]):
        compare(path, user)
        compare(path, user, keep_going=True)


@override_settings(TOWERLEDGER_MATCH_ON_IMPORT=True)
def test_receipts_matched_on_import(confirmed, users, tmp_path):  # noqa: F811
    sts = {s.operator.code: s for s in services.issue_statements(month(), users["admin"])}
    rows = [
        ["R-1", "CMCC", "郑州市", str(sts["CMCC"].receivable - 100), today(), sts["CMCC"].number],
        ["R-2", "CUCC", "郑州市", str(sts["CUCC"].receivable), today(), "五月电费"],
        ["R-3", "CTCC", "郑州市", str(sts["CTCC"].receivable + 50), today(), sts["CTCC"].number],
        ["R-4", "CMCC", "郑州市", "12.34", today(), ""],
    ]
    path = write_csv(tmp_path / "r.csv", RECEIPT_HEADER, rows)
    errors, counts = compare(path, users["admin"])
    assert errors == [] and counts.created == 4
    assert run_import("receipts", path, users["admin"]).outcome["receipts"] == {
        "REFERENCE": 2, "AMOUNT": 1, "UNMATCHED": 1}
