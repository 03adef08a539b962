"""A month's close with the books check and the snapshots' figures in two worker processes
gives the serial close's result (issue 18): the same steps, summary and snapshot rows, the
lock still held by the close alone, and books that do not check out still stop it."""

from datetime import date

import pytest
from django.db import connection

from tests.integration.test_analysis import MAY1, may_paid  # noqa: F401 (a fixture)
from towerledger.analysis import close as closing
from towerledger.analysis.models import Snapshot
from towerledger.bills.models import Bill
from towerledger.ledger.models import MonthClose

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
AS_OF = date(2024, 6, 15)


def result():
    mc = MonthClose.objects.get(month=MAY1)
    rows = sorted(Snapshot.objects.filter(month=MAY1).values_list(
        "level", "key", "parent", "operator", "figures"), key=repr)
    return mc.status, mc.steps, mc.summary, rows


def test_parallel_close_equals_the_serial_one(may_paid, settings, monkeypatch):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("parallel workers run on PostgreSQL (SQLite has one writer)")
    calls = []
    real = closing.in_workers
    monkeypatch.setattr(closing, "in_workers", lambda *a: calls.append(a[1]) or real(*a))

    settings.TOWERLEDGER_WORKERS = 1
    closing.close_month(MAY1, as_of=AS_OF)
    serial = result()
    assert serial[0] == "CLOSED" and len(serial[3]) > 5 and calls == []

    # the same close again from its check on (its lines and entries are there already)
    MonthClose.objects.filter(month=MAY1).update(status="RUNNING", steps=["programs",
                                                                          "deadlines"])
    Snapshot.objects.filter(month=MAY1).delete()
    settings.TOWERLEDGER_WORKERS = 2
    closing.close_month(MAY1, as_of=AS_OF)
    assert calls == [["check", "rows"]]
    assert result() == serial
    # the advisory lock was the close's own and is free again
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(hashtext('towerledger.close'))")
        assert cur.fetchone()[0]
        cur.execute("SELECT pg_advisory_unlock(hashtext('towerledger.close'))")


def test_a_parallel_close_still_refuses_books_that_do_not_check_out(may_paid,  # noqa: F811
                                                                    settings):
    if connection.vendor != "postgresql":
        pytest.skip("parallel workers run on PostgreSQL (SQLite has one writer)")
    settings.TOWERLEDGER_WORKERS = 2
    Bill.objects.filter(pk=may_paid.pk).update(amount=may_paid.amount + 1)  # allocation ≠ bill
    with pytest.raises(closing.CloseError) as e:
        closing.close_month(MAY1, as_of=AS_OF)
    assert any("B-2405" in p for p in e.value.problems)
    mc = MonthClose.objects.get(month=MAY1)
    assert mc.status == "RUNNING" and mc.steps == ["programs", "deadlines"]
    assert not Snapshot.objects.filter(month=MAY1).exists()
