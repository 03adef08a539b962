"""Bulk stages raise PostgreSQL's work_mem for their own statements only (db.bulk.work_mem):
the deadlines' ranges and matching's writer; the session keeps its value."""

from datetime import date

import pytest
from django.db import connection, transaction

from tests.integration.test_bills import import_bills
from tests.integration.test_parallel import grid_bill
from towerledger.bills.models import Bill
from towerledger.db.bulk import work_mem
from towerledger.settlement import allocate as alloc
from towerledger.settlement.services import run_deadlines

pytestmark = pytest.mark.django_db


def _show() -> str:
    with connection.cursor() as cur:
        cur.execute("SHOW work_mem")
        return cur.fetchone()[0]


def test_work_mem_is_the_blocks_own():
    if connection.vendor != "postgresql":
        with work_mem():   # nothing to set elsewhere
            pass
        return
    before = _show()
    with transaction.atomic():
        with work_mem("48MB"):
            assert _show() == "48MB"
        assert _show() == before


def test_an_error_inside_rolls_the_setting_back_with_the_transaction():
    if connection.vendor != "postgresql":
        pytest.skip("work_mem is PostgreSQL's")
    before = _show()
    with pytest.raises(ZeroDivisionError), transaction.atomic(), work_mem("48MB"):
        1 / 0   # noqa: B018
    assert _show() == before


def test_deadlines_leave_the_sessions_work_mem(province, tmp_path, settings):
    """Deeming lines inside a caller's transaction (a close does) leaves its work_mem."""
    settings.TOWERLEDGER_ALLOCATE_ON_PAY = False
    settings.TOWERLEDGER_WORKERS = 1
    assert import_bills(tmp_path, [grid_bill(m) for m in range(1, 3)]).stored
    for m, pk in enumerate(Bill.objects.order_by("paid_date").values_list("pk", flat=True), 2):
        alloc.allocate_bills([pk], today=date(2024, m, 5))
    pg = connection.vendor == "postgresql"
    with transaction.atomic():
        if pg:
            with connection.cursor() as cur:
                cur.execute("SET LOCAL work_mem = '5MB'")   # the caller's own value
        assert run_deadlines(date(2024, 12, 31)).deemed > 0
        if pg:
            assert _show() == "5MB"
