"""copy_insert's new keys (issue 18): the sequence is looked up once per statement, not once
per row, and hands out exactly what the per-row lookup handed out from the same sequence
state — the same keys, in the same order — and leaves the sequence where it left it."""

import pytest
from django.db import connection

from towerledger.db import bulk
from towerledger.exchange.models import ImportJob

# what copy_insert ran before: pg_get_serial_sequence evaluated for every row
PER_ROW = ("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)")


def _keys(sql: str, n: int) -> list[int]:
    with connection.cursor() as cur:
        cur.execute(sql, ["exchange_importjob", "id", n])
        return [r[0] for r in cur.fetchall()]


def _sequence_at() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT last_value FROM " + _sequence())
        return cur.fetchone()[0]


def _sequence() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_get_serial_sequence('exchange_importjob', 'id')")
        return cur.fetchone()[0]


def _restart(at: int):
    with connection.cursor() as cur:
        cur.execute("SELECT setval(%s, %s)", [_sequence(), at])


@pytest.mark.django_db
@pytest.mark.parametrize("n", [1, 2, 7, 5000])
def test_keys_looked_up_once_equal_the_per_row_lookup(n):
    if connection.vendor != "postgresql":
        pytest.skip("keys from the sequence on PostgreSQL (SQLite: bulk_create)")
    ImportJob.objects.create(kind="sites", filename="first.csv", stored_path="x")
    start = _sequence_at()
    old = _keys(PER_ROW, n)
    old_end = _sequence_at()
    _restart(start)
    new = _keys(bulk.NEXT_IDS, n)
    assert new == old == list(range(start + 1, start + n + 1))
    assert _sequence_at() == old_end


@pytest.mark.django_db
def test_copy_insert_takes_its_keys_from_the_table_sequence():
    if connection.vendor != "postgresql":
        pytest.skip("keys from the sequence on PostgreSQL (SQLite: bulk_create)")
    ImportJob.objects.create(kind="sites", filename="first.csv", stored_path="x")
    start = _sequence_at()
    ids = bulk.copy_insert(ImportJob, [{"kind": "bills", "filename": f"f{i}.csv",
                                        "stored_path": "p"} for i in range(50)])
    assert ids == list(range(start + 1, start + 51))
    assert dict(ImportJob.objects.filter(pk__in=ids).values_list("pk", "filename")) == {
        pk: f"f{i}.csv" for i, pk in enumerate(ids)}
    assert ImportJob.objects.create(kind="sites", filename="x", stored_path="x").pk == start + 51
