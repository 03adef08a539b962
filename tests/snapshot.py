"""Rows a builder adds to the test database: taken once per test process, put back per test.

``RowSnapshot(build)`` runs ``build`` for real the first time it is asked (in that test's own
database, so that test gets exactly what ``build`` writes) and notes every row ``build``
added, table by table, as the database stores it. Every later test gets those rows inserted
again as they were — the same primary keys, the same values — in one transaction, instead
of running ``build`` again. Each test is still isolated the usual way (its transaction is
rolled back, or the database flushed after a transactional test); only the rows are reused.

If ``build`` changed or deleted a row that was there before it (not only added rows), the
rows alone would not say what it did: the snapshot is not used and ``build`` runs for every
test, as before. Nothing is cached across test processes (each xdist worker takes its own).

SQLite: rows are read with ``SELECT *`` and written back with the same Python values.
PostgreSQL: rows are copied out and in with ``COPY`` in text form (exact for every type), and
each table's id sequence is moved past the restored ids (a test that reset the sequences
must not be handed an id a restored row holds).
"""

import warnings
from collections import Counter

from django.db import connection, transaction


def _tables() -> list[str]:
    return sorted(t for t in connection.introspection.table_names()
                  if not t.startswith("sqlite_"))


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _dump() -> dict[str, tuple[tuple[str, ...], list]]:
    """table → (columns, rows) of every table of the database."""
    out = {}
    with connection.cursor() as cursor:
        for table in _tables():
            if connection.vendor == "postgresql":
                raw = cursor.cursor  # psycopg's own cursor, for COPY
                with raw.copy(f"COPY {_quote(table)} TO STDOUT") as copy:
                    data = b"".join(bytes(chunk) for chunk in copy)
                rows = data.split(b"\n")[:-1] if data else []
                out[table] = ((), rows)
            else:
                cursor.execute(f"SELECT * FROM {_quote(table)}")
                columns = tuple(c[0] for c in cursor.description)
                out[table] = (columns, cursor.fetchall())
    return out


def _sequences(tables) -> dict[str, list[str]]:
    """table → its columns that draw from a sequence (PostgreSQL identity or serial)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ANY(%s)"
            " AND (is_identity = 'YES' OR column_default LIKE 'nextval(%%')", [list(tables)])
        out: dict[str, list[str]] = {}
        for table, column in cursor.fetchall():
            out.setdefault(table, []).append(column)
    return out


class RowSnapshot:
    def __init__(self, build):
        self.build = build
        self.added: dict[str, tuple[tuple[str, ...], list]] | None = None
        self.sequences: dict[str, list[str]] = {}
        self.unusable = ""   # why the rows alone cannot stand for build (build runs each time)

    def apply(self, *args, **kwargs):
        """Give the current test what ``build(*args, **kwargs)`` writes."""
        if self.unusable or self.added is None:
            return self._build(*args, **kwargs)
        self._restore()
        return None

    def _build(self, *args, **kwargs):
        if self.unusable:
            return self.build(*args, **kwargs)
        before = _dump()
        result = self.build(*args, **kwargs)
        after = _dump()
        added = {}
        for table, (columns, rows) in after.items():
            old_columns, old_rows = before.get(table, (columns, []))
            gone = Counter(old_rows) - Counter(rows)
            if gone or old_columns != columns:
                self.unusable = f"{self.build.__name__} changed rows it did not add ({table})"
                warnings.warn(f"{self.unusable}: it runs for every test instead", stacklevel=2)
                return result
            new = list((Counter(rows) - Counter(old_rows)).elements())
            if new:
                added[table] = (columns, new)
        self.added = added
        if connection.vendor == "postgresql":
            self.sequences = _sequences(added)
        return result

    def _restore(self):
        with transaction.atomic(), connection.cursor() as cursor:
            for table, (columns, rows) in self.added.items():
                if connection.vendor == "postgresql":
                    with cursor.cursor.copy(f"COPY {_quote(table)} FROM STDIN") as copy:
                        copy.write(b"\n".join(rows) + b"\n")
                else:
                    cursor.executemany(
                        f"INSERT INTO {_quote(table)} ({', '.join(map(_quote, columns))})"
                        f" VALUES ({', '.join(['%s'] * len(columns))})", rows)
            for table, columns in self.sequences.items():
                for column in columns:
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence(%s, %s), m)"
                        f" FROM (SELECT max({_quote(column)}) AS m FROM {_quote(table)}) t"
                        f" WHERE m IS NOT NULL AND m > COALESCE(pg_sequence_last_value("
                        f"pg_get_serial_sequence(%s, %s)::regclass), 0)",
                        [_quote(table), column, _quote(table), column])
