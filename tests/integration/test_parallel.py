"""Allocation in parallel worker processes gives the serial run's results (issue 18):
the same lines with the same figures, statuses and explanations, the same journal entries
and the same findings — only the ids differ."""

from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from tests.integration.test_bills import import_bills
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.settlement import allocate as alloc
from towerledger.settlement.models import BillSiteTrace, Line, LineTrace

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def grid_bill(month: int) -> list[str]:
    kwh = 3000 + 37 * month
    return [f"G-24{month:02d}", "A-200", f"2024-{month:02d}-01",
            f"2024-{month:02d}-{28 if month == 2 else 30}", "", "", "", "", str(kwh), "0.62",
            f"{Decimal(kwh) * Decimal('0.62'):.2f}", "", "SPECIAL_13",
            f"2024-{month + 1:02d}-05", f"PAY-G{month}"]


def snapshot():
    lines = Counter(
        (ln.bill.bill_no, ln.site.site_code, ln.tenancy.tenancy_id if ln.tenancy else "",
         ln.status, ln.cost_share, ln.tax_amount, ln.receivable, ln.share,
         ln.trace.get("text_zh"))
        for ln in Line.objects.filter(kind="ALLOCATION").select_related(
            "bill", "site", "tenancy"))
    entries = {(e.reference, e.date): tuple(sorted(
        JournalLine.objects.filter(entry=e).values_list("account", "debit", "credit")))
        for e in JournalEntry.objects.filter(kind="ALLOCATION")}
    return lines, entries


def forget_allocation():
    LineTrace.objects.all().delete()
    BillSiteTrace.objects.all().delete()
    Line.objects.filter(kind="ALLOCATION").delete()
    JournalLine.objects.filter(entry__kind="ALLOCATION").delete()
    JournalEntry.objects.filter(kind="ALLOCATION").delete()


def test_parallel_allocation_equals_the_serial_one(province, tmp_path, settings, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("parallel workers run on PostgreSQL (SQLite has one writer)")
    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False      # paid now, allocated below
    assert import_bills(tmp_path, [grid_bill(m) for m in range(1, 7)]).stored
    monkeypatch.setattr(alloc, "BATCH", 2)             # six bills: three parts

    settings.TOWERLEDGER_WORKERS = 1
    assert alloc.workers_for(3) == 1
    serial = alloc.allocate_bills()
    before = snapshot()
    assert serial.bills == 6 and serial.lines == len(list(before[0].elements())) > 6

    forget_allocation()
    settings.TOWERLEDGER_WORKERS = 2
    assert alloc.workers_for(3) == 2
    parallel = alloc.allocate_bills()
    after = snapshot()
    assert (parallel.bills, parallel.lines, parallel.pushed, parallel.same_day) == (
        serial.bills, serial.lines, serial.pushed, serial.same_day)
    assert sorted(parallel.flags) == sorted(serial.flags)
    assert after == before
    total = Line.objects.filter(kind="ALLOCATION").aggregate(s=Sum("cost_share"))["s"]
    assert total == sum(Decimal(grid_bill(m)[10]) for m in range(1, 7))


def test_no_parallel_inside_a_transaction_or_on_sqlite(settings):
    settings.TOWERLEDGER_WORKERS = 4
    with transaction.atomic():          # forked processes could not see uncommitted rows
        assert alloc.workers_for(10) == 1
    assert alloc.workers_for(1) == 1    # one part: nothing to share
    assert alloc.workers_for(10) == (4 if connection.vendor == "postgresql" else 1)
