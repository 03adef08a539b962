"""db.stats.refresh: after a bulk write the tables grown past their statistics are
analysed (PostgreSQL), the others are left alone; SQLite has nothing to do."""

import pytest
from django.db import connection

from towerledger.db import stats

pytestmark = pytest.mark.django_db


def _reltuples(cur, table):
    cur.execute("SELECT reltuples, relpages FROM pg_class WHERE relname = %s", [table])
    return cur.fetchone()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_a_grown_table_is_analysed_and_a_small_one_is_not():
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE public.tl_probe_big (x integer, pad text)")
        cur.execute("CREATE TABLE public.tl_probe_small (x integer)")
        cur.execute("INSERT INTO tl_probe_big SELECT g, repeat('x', 100) FROM "
                    "generate_series(1, 20000) g")
        cur.execute("INSERT INTO tl_probe_small SELECT g FROM generate_series(1, 50) g")
        stale = stats.stale_tables()
        assert "tl_probe_big" in stale and "tl_probe_small" not in stale
        assert _reltuples(cur, "tl_probe_big")[1] == 0          # never analysed
        assert "tl_probe_big" in stats.refresh()
        tuples, pages = _reltuples(cur, "tl_probe_big")
        assert tuples == 20000 and pages > stats.MIN_PAGES
        assert "tl_probe_big" not in stats.stale_tables()       # fresh now
        # a second bulk write of the same size makes it stale again
        cur.execute("INSERT INTO tl_probe_big SELECT g, repeat('y', 100) FROM "
                    "generate_series(1, 20000) g")
        assert "tl_probe_big" in stats.stale_tables()


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite")
def test_sqlite_has_nothing_to_refresh():
    assert stats.stale_tables() == [] and stats.refresh() == []
