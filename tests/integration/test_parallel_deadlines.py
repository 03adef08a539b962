"""Deemed confirmation in parallel worker processes gives the serial run's results (issue 18):
the same lines deemed at the same instants, the same CONFIRM entries and postings, the
same audit entries; a line whose agreement does not deem stays pending in both, and a
second run changes nothing."""

from collections import Counter
from datetime import date

import pytest
from django.db import connection

from tests.integration.test_bills import import_bills
from tests.integration.test_parallel import grid_bill
from towerledger.access.models import AuditEntry
from towerledger.bills.models import Bill
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.org.models import OperatorAgreement
from towerledger.settlement import allocate as alloc
from towerledger.settlement import services
from towerledger.settlement.models import Line

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def snapshot():
    lines = {ln.pk: (ln.status, ln.deemed, ln.confirmed_at, ln.confirmed_by_id, ln.receivable)
             for ln in Line.objects.exclude(operator=None)}
    entries = {(e.reference, e.date, e.memo): tuple(sorted(
        JournalLine.objects.filter(entry=e).values_list("account", "debit", "credit",
                                                        "site_id", "operator_id")))
        for e in JournalEntry.objects.filter(kind="CONFIRM")}
    audit = Counter((a.object_key, a.user_id, str(a.before), str(sorted(a.after.items())),
                     a.reason) for a in AuditEntry.objects.filter(action="deemed_confirm"))
    return lines, entries, audit


def forget_deadlines():
    Line.objects.filter(deemed=True).update(status="PUSHED", deemed=False, confirmed_at=None)
    JournalLine.objects.filter(entry__kind="CONFIRM").delete()
    JournalEntry.objects.filter(kind="CONFIRM").delete()
    AuditEntry.objects.filter(action="deemed_confirm").delete()


def test_parallel_deadlines_equal_the_serial_run(province, tmp_path, settings, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("parallel workers run on PostgreSQL (SQLite has one writer)")
    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False
    assert import_bills(tmp_path, [grid_bill(m) for m in range(1, 7)]).stored
    for m, pk in enumerate(Bill.objects.order_by("paid_date").values_list("pk", flat=True), 2):
        alloc.allocate_bills([pk], today=date(2024, m, 5))   # six push days, six deadlines
    pending = Line.objects.pending()
    ops = sorted(set(pending.values_list("operator_id", flat=True)))
    assert len(ops) >= 2 and pending.values("confirm_due").distinct().count() == 6
    # one operator's agreement stops deeming from May: its lines pushed since stay pending
    OperatorAgreement.objects.create(operator_id=ops[0], effective_from=date(2024, 5, 1),
                                     deemed_confirmed=False)
    kept = set(pending.filter(operator_id=ops[0], push_date__gte=date(2024, 5, 1))
               .values_list("pk", flat=True))
    assert kept
    monkeypatch.setattr(services, "DEEM_BATCH", 3)    # a handful of lines per part

    settings.TOWERLEDGER_WORKERS = 1
    serial = services.run_deadlines(date(2024, 12, 31))
    before = snapshot()
    assert serial.deemed == len(before[1]) + sum(  # every deemed line has its entry …
        1 for v in before[0].values() if v[1] and not v[4]) > 6   # … but a zero line
    assert set(pending.values_list("pk", flat=True)) == kept
    assert sum(before[2].values()) == serial.deemed
    for (_, _, _), postings in before[1].items():
        assert sum(p[1] for p in postings) == sum(p[2] for p in postings) > 0
    assert services.run_deadlines(date(2024, 12, 31)).deemed == 0   # idempotent
    assert snapshot() == before

    forget_deadlines()
    settings.TOWERLEDGER_WORKERS = 2
    assert services.workers_for(3) == 2
    parallel = services.run_deadlines(date(2024, 12, 31))
    assert parallel.deemed == serial.deemed
    assert snapshot() == before
