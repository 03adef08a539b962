"""Fresh planner statistics after a bulk stage (PostgreSQL).

A bulk stage (allocation, deemed confirmation, statements, matching, the close) writes
hundreds of thousands of rows at once. Until ``ANALYZE`` sees them the planner works from
the table as it was — at first, from no statistics at all — and a page or the next stage
can pick a plan that scans millions of rows (a clerk's home page at 20,000 sites: 3.1 s
before, 0.33 s after). Autovacuum gets there in its own time, and may be off (a CI server,
a bulk-load window); the stage does not wait for it.

``refresh()`` analyses the tables of the public schema that have grown well beyond what
their statistics describe: the table's pages now against the pages ``ANALYZE`` last counted
(``pg_class.relpages``), so what a stage wrote is seen however the server's activity
counters are flushed. Small tables (under a megabyte of growth) are left to autovacuum.
"""

from django.db import connection

GROWTH = 1.2        # pages now ≥ this × pages at the last ANALYZE …
MIN_PAGES = 128     # … and at least this many pages more (1 MB at 8 kB a page)


def stale_tables() -> list[str]:
    """The public tables grown past ``GROWTH`` × and ``MIN_PAGES`` since their statistics."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND "
            "pg_relation_size(c.oid) / current_setting('block_size')::int "
            ">= greatest(c.relpages * %s, c.relpages + %s) ORDER BY c.relname",
            [GROWTH, MIN_PAGES])
        return [r[0] for r in cur.fetchall()]


def refresh() -> list[str]:
    """``ANALYZE`` the stale tables (one statement); returns their names."""
    tables = stale_tables()
    if tables:
        qn = connection.ops.quote_name
        with connection.cursor() as cur:
            cur.execute("ANALYZE " + ", ".join(qn(t) for t in tables))
    return tables
