"""The bill import on PostgreSQL's staged path (exchange.staged, bills.staged_bills) against
the Python path (bills.imports) on the same files and the same database: the same errors
(row, column, zh, en, in order), counts, rows set aside, outcome, and the same stored bills,
flags, payment entries, settlement lines and audit-log entries — new bills paid and unpaid,
readings and a meter change, the invoice type of dated supply terms, a lump-sum account,
a shared account, a bill held by its audit, the same file again (unchanged, now paid), a
resent bill with new content (dup_seq), bad rows all or nothing and keep going, and a
clerk's scope (another city's account, another city's payment reference)."""

import json
from datetime import date

import pytest
from django.db import connection

from tests.helpers import write_csv
from tests.integration.staged_paths import both_paths
from towerledger.access.models import AuditEntry
from towerledger.bills.models import Bill, Flag
from towerledger.exchange import staged as staging
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.settlement.models import Line
from towerledger.sites import terms
from towerledger.sites.models import SupplyAccount

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the staged path is PostgreSQL's"),
]

HEADER = ("bill_no", "account_no", "period_start", "period_end", "start_reading",
          "end_reading", "multiplier", "loss_kwh", "kwh", "unit_price", "amount", "input_tax",
          "invoice_type", "paid_date", "payment_ref", "meter_changed", "old_meter_end_reading",
          "new_meter_start_reading")


def bill(no, account, start, end, amount, kwh="", paid="", ref="", readings=("", ""),
         multiplier="", loss="", invoice="", changed="", meter=("", ""), price="", tax=""):
    return [no, account, start, end, *readings, multiplier, loss, kwh, price, amount, tax,
            invoice, paid, ref, changed, *meter]


GOOD = [
    bill("B-01", "A-100", "2024-05-01", "2024-05-31", "3300.00", "3000", paid="2024-06-02",
         ref="PAY-01"),
    bill("B-02", "A-100", "2024-06-01", "2024-06-30", "3520.00", paid="2024-07-02",
         readings=("1000", "4200"), loss="12.5"),                       # derived kWh, no ref
    bill("B-03", "A-200", "2024-05-01", "2024-05-31", "4800.00", "7700", paid="2024-06-03",
         price="0.62"),                                                 # a shared account
    bill("B-04", "A-200", "2024-06-01", "2024-06-30", "1500.00", readings=("100", "110"),
         changed="是", meter=("105", "0"), multiplier="80"),             # a meter change
    bill("B-05", "A-300", "2024-04-01", "2024-06-30", "2400.00"),         # lump sum: no kWh
    bill("B-06", "A-100", "2024-07-01", "2024-07-31", "9900.00", "3000", paid="2024-08-02",
         ref="PAY-06"),                                                 # above the price cap
    bill("B-07", "A-100", "2024-03-01", "2024-03-31", "1100.00", "1000", invoice="RECEIPT"),
]


def stored():
    key = {b["pk"]: f"{b['account__account_no']}/{b['bill_no']}#{b['dup_seq']}"
           for b in Bill.objects.values("pk", "account__account_no", "bill_no", "dup_seq")}
    bills = [[key[b[0]], *map(str, b[1:])] for b in Bill.objects.order_by("pk").values_list(
        "pk", "period_start", "period_end", "start_reading", "end_reading", "multiplier",
        "loss_kwh", "kwh", "unit_price", "amount", "input_tax", "invoice_type", "meter_changed",
        "old_meter_end_reading", "new_meter_start_reading", "status", "paid_date",
        "payment_ref", "requested_paid_date", "blocking", "warnings")]
    flags = [[key[f[0]], *map(str, f[1:6]), json.dumps(f[6], sort_keys=True)]
             for f in Flag.objects.order_by("pk").values_list(
                 "bill_id", "code", "severity", "status", "message_zh", "message_en", "figures")]

    def ref(r):   # an allocation's reference names the bill by its id
        return key.get(int(r[1:]), r) if r[:1] == "B" and r[1:].isdigit() else r

    entries = [[str(e[0]), e[1], ref(e[2]), e[3]] for e in JournalEntry.objects.order_by("pk")
               .values_list("date", "kind", "reference", "memo")]
    lines = [[ref(x[0]), *map(str, x[1:])] for x in JournalLine.objects.order_by("pk")
             .values_list("entry__reference", "account", "site__site_code", "debit", "credit")]
    settled = [[key.get(x[0]), *map(str, x[1:])] for x in Line.objects.order_by("pk")
               .values_list("bill_id", "kind", "site__site_code", "operator__code",
                            "receivable", "status")]
    log = [[a[0], a[1], key.get(int(a[2]), a[2]) if a[1] == "bill" else a[2],
            json.dumps(a[3], sort_keys=True, default=str), json.dumps(a[4], sort_keys=True,
                                                                      default=str), a[5]]
           for a in AuditEntry.objects.order_by("pk").values_list(
               "action", "object_type", "object_key", "before", "after", "reason")]
    return {"bills": bills, "flags": flags, "entries": entries, "lines": lines,
            "settled": settled, "log": log}


def without_ids(outcome):
    """The outcome with its bills by key (ids differ: each path's insert is rolled back)."""
    if outcome is None:
        return None
    return {k: [{**b, "bill": None} for b in v] if isinstance(v, list) else v
            for k, v in outcome.items()}


def compare(path, user=None, keep_going=False):
    """Both paths on the same database state, each rolled back after; they agree."""
    python, staged = both_paths("bills", path, stored, user, keep_going, outcome=without_ids)
    for a, b in zip(python[6].values(), staged[6].values(), strict=True):
        assert b == a
    assert staged == python
    return [(e[0], e[1]) for e in python[0]], python[2], python[5]


@pytest.fixture
def dated(province, users):
    """A-300 is lump-sum; A-100's invoice type changed on 2024-06-01 (转改直-like terms)."""
    SupplyAccount.objects.filter(account_no="A-300").update(lump_sum=True)
    a = SupplyAccount.objects.get(account_no="A-100")
    old = terms.terms_of(a)
    terms.change_terms(users["admin"], a, date(2024, 6, 1),
                       terms.Terms(old.supply_mode, old.supplier_type, "SPECIAL_13",
                                   old.contract_price), reason="test", action="terms")
    return users


def test_good_file_then_again_paid_and_resent(tmp_path, dated):
    path = write_csv(tmp_path / "bills.csv", HEADER, GOOD)
    errors, counts, outcome = compare(path)
    assert errors == [] and (counts.created, counts.unchanged) == (7, 0)
    assert [b["bill_no"] for b in outcome["held"]] == ["B-06"]
    assert run_import("bills", path, staged=False).stored
    again = [list(r) for r in GOOD]
    again[3][13] = "2024-07-05"                         # B-04 now paid (no ref)
    again[4][13], again[4][14] = "2024-07-06", "PAY-05"  # B-05 now paid
    again[6][10] = "1200.00"                            # B-07 resent with new content
    again.append(bill("B-08", "A-100", "2024-08-01", "2024-08-31", "3300.00", "3000",
                      paid="2024-09-02"))
    errors, counts, _ = compare(write_csv(tmp_path / "again.csv", HEADER, again))
    assert errors == [] and (counts.created, counts.unchanged) == (2, 6)
    errors, counts, _ = compare(path)
    assert errors == [] and (counts.created, counts.unchanged) == (0, 7)


BAD = [
    *GOOD,
    bill("B-10", "A-999", "2024-05-01", "2024-05-31", "10", "1"),            # unknown account
    bill("B-11", "A-100", "2024-05-31", "2024-05-01", "10", "1"),            # ends before
    bill("B-12", "A-100", "2023-01-01", "2024-05-01", "10", "1"),            # too long
    bill("B-13", "A-100", "1999-01-01", "1999-01-31", "10", "1"),            # implausible
    bill("B-14", "A-100", "2024-05-01", "2024-05-31", "10", "1", paid="2099-01-01"),
    bill("B-15", "A-100", "2024-05-01", "2024-05-31", "10", "1", ref="PAY-X"),
    bill("B-16", "A-100", "2024-05-01", "2024-05-31", "10", readings=("1", "")),
    bill("B-17", "A-100", "2024-05-01", "2024-05-31", "10", "1", meter=("5", "")),
    bill("B-18", "A-100", "2024-05-01", "2024-05-31", "10", "1", meter=("5", "0")),
    bill("B-19", "A-100", "2024-05-01", "2024-05-31", "10"),                  # kWh needed
    bill("B-20", "A-100", "2024-05-01", "2024-05-31", "0", "5"),               # amount 0
    bill("B-21", "A-100", "2024-05-01", "2024-05-31", "10",
         readings=("0", "999999999999"), multiplier="99999999"),              # out of range
    bill("B-22", "A-100", "2024-05-01", "2024-05-31", "10", "1", paid="2024-06-01",
         ref="PAY-01"),                                       # a reference of the file's B-01
    bill("B-01", "A-100", "2024-05-01", "2024-05-31", "11", "1"),            # repeats row 2
    bill("B-23", "A-100", "2024-05-01", "2024-05-31", "abc", "1", paid="2099-01-01"),
    bill("B-24", "A-100", "2024-05-01", "2024-05-31", "10", "1", changed="perhaps",
         meter=("5", "0")),                                                  # bad cell + rule
]


@pytest.mark.parametrize("keep_going", [False, True])
def test_bad_rows(tmp_path, dated, keep_going):
    assert run_import("bills", write_csv(tmp_path / "first.csv", HEADER, GOOD[:1]),
                      staged=False).stored                                  # PAY-01 stored
    errors, counts, _ = compare(write_csv(tmp_path / "bad.csv", HEADER, BAD[1:]),
                                keep_going=keep_going)
    rows = {r: c for r, c in errors}
    assert {c for r, c in errors if r >= 8} >= {"account_no", "period_end", "period_start",
                                                "paid_date", "end_reading", "meter_changed",
                                                "kwh", "amount", "payment_ref",
                                                "new_meter_start_reading"}
    assert (counts is None) is not keep_going and rows


@pytest.mark.parametrize("keep_going", [False, True])
def test_parts_of_a_file_as_the_python_path_takes_them(tmp_path, dated, monkeypatch,
                                                       keep_going):
    """A file of several parts (3 rows each here, 25,000 in use): each part stored, audited
    and paid before the next, its partial rows judged by part."""
    from towerledger.exchange import services

    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    monkeypatch.setattr(staging, "PARTIAL_PART", 3)
    errors, counts, _ = compare(write_csv(tmp_path / "good.csv", HEADER, GOOD))
    assert errors == [] and counts.created == 7
    rows = [*BAD[:3], bill("B-30", "A-100", "not a date", "2024-05-31", "10", "1",
                           paid="2099-01-01"), *BAD[3:]]
    errors, _, _ = compare(write_csv(tmp_path / "bad.csv", HEADER, rows),
                           keep_going=keep_going)
    assert (5, "period_start") in errors


def test_a_row_without_its_period_is_not_judged_further(tmp_path, dated):
    rows = [*BAD[:2], bill("B-30", "A-100", "not a date", "2024-05-31", "10", "1",
                           paid="2099-01-01"), BAD[-1]]
    errors, _, _ = compare(write_csv(tmp_path / "bad.csv", HEADER, rows))
    assert (4, "period_start") in errors


@pytest.mark.parametrize("keep_going", [False, True])
def test_a_clerk_writes_only_their_city(tmp_path, dated, keep_going):
    assert run_import("bills", write_csv(tmp_path / "ly.csv", HEADER, [
        bill("B-90", "A-300", "2024-01-01", "2024-03-31", "2400.00", paid="2024-04-02",
             ref="PAY-LY")]), staged=False).stored
    rows = [*GOOD, bill("B-91", "A-100", "2024-05-01", "2024-05-31", "10", "1",
                        paid="2024-06-01", ref="PAY-LY")]
    errors, _, _ = compare(write_csv(tmp_path / "zz.csv", HEADER, rows), dated["clerk_zz"],
                           keep_going=keep_going)
    assert (6, "account_no") in errors and (9, "payment_ref") in errors
