"""What an allocation batch changes about its session (issue 18), and that it gives it back:
no JIT and more work_mem on PostgreSQL for the batch's transaction only, and no cyclic
garbage collection while the batch builds its rows."""

import gc

import pytest
from django.db import connection, transaction

from towerledger.settlement import allocate as alloc


@pytest.mark.django_db(transaction=True, serialized_rollback=True)   # SET LOCAL: to the
# end of the real transaction, not of a savepoint
def test_a_batch_turns_jit_and_the_collector_off_for_itself_only():
    assert gc.isenabled()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW jit")
            before = cur.fetchone()[0]
            cur.execute("SHOW work_mem")
            memory = cur.fetchone()[0]
    with transaction.atomic(), alloc._bulk_session():
        assert not gc.isenabled()
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SHOW jit")
                assert cur.fetchone()[0] == "off"
                cur.execute("SHOW work_mem")
                assert cur.fetchone()[0] == "64MB"
    assert gc.isenabled()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW jit")
            assert cur.fetchone()[0] == before
            cur.execute("SHOW work_mem")
            assert cur.fetchone()[0] == memory


@pytest.mark.django_db
def test_a_batch_inside_a_callers_transaction_gives_its_settings_back():
    if connection.vendor != "postgresql":
        pytest.skip("jit and work_mem are PostgreSQL's")

    def show():
        with connection.cursor() as cur:
            cur.execute("SELECT current_setting('jit'), current_setting('work_mem')")
            return cur.fetchone()

    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET LOCAL jit = on; SET LOCAL work_mem = '5MB'")   # the caller's
        with transaction.atomic(), alloc._bulk_session():
            assert show() == ("off", "64MB")
        assert show() == ("on", "5MB")


@pytest.mark.django_db
def test_the_collector_comes_back_when_a_batch_fails():
    with pytest.raises(RuntimeError), transaction.atomic(), alloc._bulk_session():
        raise RuntimeError("the batch failed")
    assert gc.isenabled()
