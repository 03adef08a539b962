"""Set-wise reads and writes: a few queries per thousand rows, never one per row.

On PostgreSQL the hot paths avoid statements with one placeholder per value: psycopg binds
parameters on the client, and splitting and quoting a query text with 100,000 placeholders
costs seconds. A list goes as one array parameter (``= ANY(%s)``, ``unnest(%s)``), and new
rows go by ``COPY``. SQLite keeps plain ``IN (…)`` lists in chunks and Django's bulk_create.
"""

import itertools
import json
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, models
from django.db.models import Expression, F
from django.utils import timezone

CHUNK = 5000
MAX_PARAMS = 30000  # under SQLite's 32,766 host parameters per statement


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "Counts"):
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def chunked(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def postgres() -> bool:
    return connection.vendor == "postgresql"


def parts(values: Iterable) -> Iterable[list]:
    """The distinct ``values`` in as few lists as a ``OneOf`` filter takes at once: one on
    PostgreSQL, chunks of ``CHUNK`` elsewhere (SQLite's cap on host parameters)."""
    values = list(dict.fromkeys(values))
    if postgres():
        yield values
    else:
        yield from chunked(values)


class OneOf(Expression):
    """``filter(OneOf("field", values))``: the field is one of ``values``.

    Like ``field__in=values`` but PostgreSQL gets ``= ANY(%s)`` with one array parameter;
    Django's ``__in`` writes one placeholder per value, and compiling and quoting 100,000
    of them costs more than running the query. Give it at most ``CHUNK`` values on SQLite
    (see ``parts``).
    """

    conditional = True
    output_field = models.BooleanField()

    def __init__(self, field: str, values: Iterable):
        super().__init__()
        self.target, self.values = F(field), list(values)

    def resolve_expression(self, query=None, allow_joins=True, reuse=None, summarize=False,
                           for_save=False):
        c = self.copy()
        c.target = self.target.resolve_expression(query, allow_joins, reuse, summarize, for_save)
        return c

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.target)
        if connection.vendor == "postgresql":
            # the column's own type: an empty list (or ints for a text column) must not
            # come out as bigint[] and fail "character varying = bigint"
            db_type = self.target.output_field.db_type(connection)
            array, param = pg_array(self.values, db_type)
            return f"{sql} = ANY({array})", [*params, param]
        return f"{sql} IN ({', '.join(['%s'] * len(self.values))})", [*params, *self.values]


def pg_array(values: list, db_type: str | None = None) -> tuple[str, object]:
    """SQL for ``values`` as one PostgreSQL array parameter, and the parameter.

    psycopg quotes a list element by element in Python (about a second per million
    elements); keys are mostly integers, which go as one comma-joined string that the
    server splits. Other values go as a list, cast to ``db_type`` when given.
    """
    if values and all(type(v) is int for v in values):  # (an empty list fits any column)
        return f"CAST(string_to_array(%s, ',') AS {db_type or 'bigint'}[])", \
            ",".join(map(str, values))
    return (f"CAST(%s AS {db_type}[])" if db_type else "%s"), values


def fetch_in(sql: str, values: Iterable, before: Sequence = (), after: Sequence = ()
             ) -> list[tuple]:
    """Rows of ``sql`` whose ``{in}`` marker becomes "is one of ``values``".

    ``sql`` reads e.g. ``SELECT id, kwh FROM t WHERE site_id {in} AND date > %s``; the
    parameters are ``before``, the values, then ``after``. PostgreSQL gets one query with
    one array parameter; SQLite one query per chunk of values.
    """
    values = list(dict.fromkeys(values))
    if not values:
        return []
    rows = []
    with connection.cursor() as cur:
        if postgres():
            array, param = pg_array(values)
            cur.execute(sql.replace("{in}", f"= ANY({array})"), [*before, param, *after])
            return cur.fetchall()
        for part in chunked(values):
            marks = ", ".join(["%s"] * len(part))
            cur.execute(sql.replace("{in}", f"IN ({marks})"), [*before, *part, *after])
            rows += cur.fetchall()
    return rows


# ``n`` new keys of a table's serial column (parameters: table, column, n). The sequence is
# found once, in a scalar subquery (an InitPlan) that also casts it to regclass: written
# ``nextval(pg_get_serial_sequence(…))`` the lookup ran again for every row (catalog
# lookups by name, about 5 µs a key: seconds per million keys) and a text argument
# would be cast to regclass row by row too; this way each row costs nextval alone.
@contextmanager
def work_mem(size: str = "64MB"):
    """Inside a transaction, PostgreSQL's ``work_mem`` for the block's statements, and the
    value it had before again after it (a bulk stage's rollup triggers sort and hash a
    batch's rows: with the default 4 MB they spill to disk). On an error the transaction (or
    savepoint) is rolled back, and the setting with it."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SELECT current_setting('work_mem'), set_config('work_mem', %s, true)",
                    [size])
        before = cur.fetchone()[0]
    yield
    with connection.cursor() as cur:
        cur.execute("SELECT set_config('work_mem', %s, true)", [before])


NEXT_ID = "nextval((SELECT CAST(pg_get_serial_sequence(%s, %s) AS regclass)))"
NEXT_IDS = f"SELECT {NEXT_ID} FROM generate_series(1, %s)"


def copy_insert(model, rows: list[dict]) -> list[int]:
    """Insert ``rows`` (attribute names → values; missing fields take their defaults) and
    return the new primary keys in row order, ascending (for a model whose key is not
    serial, e.g. a one-to-one, the rows carry it and it is returned as given).

    Model instances and INSERT texts cost more than the database's own work for large
    files, so on PostgreSQL the keys come from the table's sequence in one query and the
    rows go through ``COPY … FROM STDIN``. Values reach psycopg as they are, except JSON,
    which is wrapped as Django would. Other databases use bulk_create.
    """
    if not rows:
        return []
    if not postgres():
        objs = model.objects.bulk_create([model(**row) for row in rows], batch_size=2000)
        return [o.pk for o in objs]
    meta = model._meta
    qn = connection.ops.quote_name
    # a serial key comes from the sequence; any other key (a one-to-one) is in the rows
    serial = meta.pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField")
    fields = [f for f in meta.concrete_fields if not (serial and f.primary_key)]
    spec = [_copy_spec(f) for f in fields]
    with connection.cursor() as cur:
        if serial:
            cur.execute(NEXT_IDS, [meta.db_table, meta.pk.column, len(rows)])
            ids = sorted(r[0] for r in cur.fetchall())
        else:
            ids = [row[meta.pk.attname] for row in rows]
        columns = ", ".join(qn(f.column) for f in ((meta.pk,) if serial else ()) + (*fields,))
        with cur.cursor.copy(f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN") as copy:
            plain = [(i, name, default) for i, (name, default, wrap) in enumerate(spec)
                     if wrap is None]
            wrapped = [(i, name, default, wrap) for i, (name, default, wrap) in enumerate(spec)
                       if wrap is not None]
            for pk, row in zip(ids, rows, strict=True):
                values = [row.get(name, default) for _, name, default in plain]
                for i, name, default, wrap in wrapped:  # in column order
                    values.insert(i, wrap(row.get(name, default)))
                copy.write_row([pk, *values] if serial else values)
    return ids


def _copy_spec(field) -> tuple[str, object, Callable | None]:
    """(attribute name, value when the row has none, wrapper for psycopg or None).

    ``auto_now``/``auto_now_add`` fields are always now, as Django's own inserts set them;
    a default is computed once for all rows (it is only written, never shared in memory
    afterwards); JSON is wrapped as Django would, other values go to psycopg as they are.
    """
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return "", timezone.now(), None  # no row has the key "": always now
    wrap = None
    if isinstance(field, models.JSONField):
        def wrap(value):
            return field.get_db_prep_save(value, connection)
    return field.attname, field.get_default(), wrap


def lookup_ids(model, field: str, values: Iterable) -> dict:
    """{natural key value: pk} for the values that exist, in chunks."""
    found = {}
    for part in parts(values):
        found.update(model.objects.filter(OneOf(field, part)).values_list(field, "pk"))
    return found


def upsert(model, rows: list[dict], key: Sequence[str], fields: Sequence[str],
           progress: Callable[[int], None] | None = None, touched: set | None = None) -> Counts:
    """Create rows whose ``key`` is new, update rows whose ``fields`` differ, skip the rest.

    ``rows`` hold model attribute names (``site_id``, not ``site``). The first key field
    drives the lookup of existing rows, in chunks (one array parameter on PostgreSQL).
    Keys of created or updated rows are added to ``touched`` when given. New rows go by
    ``copy_insert`` (COPY on PostgreSQL, no model instances), changed ones by ``bulk_set``.
    """
    counts = Counts()
    first = key[0]   # (a key field holding None in some row is not used to narrow)
    size = UPSERT_CHUNK if postgres() else CHUNK
    for part in chunked(rows, size):
        # every key field narrows the lookup (a site's days of this month, not of all time)
        existing = {
            tuple(r[k] for k in key): r
            for r in model.objects.filter(*(OneOf(k, {row[k] for row in part}) for k in key
                                            if k == first or None not in
                                            {row[k] for row in part}))
            .values("pk", *key, *fields)
        }
        new, changed, changed_keys = [], [], []
        for row in part:
            row_key = tuple(row[k] for k in key)
            old = existing.get(row_key)
            if old is None:
                new.append(row)
            elif any(_differs(old[f], row[f]) for f in fields):
                changed.append({"pk": old["pk"], **{f: row[f] for f in fields}})
                changed_keys.append(row_key)
            else:
                counts.unchanged += 1
        copy_insert(model, new)
        bulk_set(model, changed, fields)
        if touched is not None:
            touched.update(tuple(row[k] for k in key) for row in new)
            touched.update(changed_keys)
        counts.created += len(new)
        counts.updated += len(changed)
        if progress:
            progress(len(part))
    return counts


UPSERT_CHUNK = 50_000  # rows per existing-row lookup on PostgreSQL (one array parameter)


def _differs(old, new) -> bool:
    if old is None or new is None:
        return old is not new
    return old != new


def bulk_set(model, rows: list[dict], fields: Sequence[str]) -> int:
    """Set ``fields`` of many rows, each to its own values, in one statement per batch.

    ``rows`` are dicts with ``pk`` and the attribute names of ``fields``. Django's
    ``bulk_update`` builds a CASE expression per row and field, which costs seconds per
    ten thousand rows; this is ``UPDATE … FROM (VALUES …) AS v`` on SQLite (≥ 3.33) and
    ``UPDATE … FROM unnest(arrays)`` on PostgreSQL, both set-wise. Returns the rows updated.
    """
    if not rows:
        return 0
    if postgres():
        return _set_from_arrays(model, rows, fields)
    meta = model._meta
    cols = [meta.get_field(f) for f in fields]
    pk = meta.pk
    qn = connection.ops.quote_name
    row_sql = "(" + ", ".join(["%s"] * (len(cols) + 1)) + ")"
    names = [f"column{i + 1}" for i in range(len(cols) + 1)]  # how SQLite names them
    sets = ", ".join(f"{qn(c.column)} = v.{names[i + 1]}" for i, c in enumerate(cols))
    table = qn(meta.db_table)
    batch = max(1, min(CHUNK, MAX_PARAMS // (len(cols) + 1)))
    done = 0
    with connection.cursor() as cur:
        for part in chunked(rows, batch):
            params = []
            for r in part:
                params.append(pk.get_db_prep_value(r["pk"], connection))
                params.extend(c.get_db_prep_value(r[c.attname if c.attname in r else c.name],
                                                  connection) for c in cols)
            cur.execute(f"UPDATE {table} SET {sets} FROM (VALUES "
                        f"{', '.join([row_sql] * len(part))}) AS v "
                        f"WHERE {table}.{qn(pk.column)} = v.column1", params)
            done += cur.rowcount
    return done


# Values psycopg adapts exactly as Django's get_db_prep_value would hand them over on
# PostgreSQL (aware datetimes and the like still go through Django).
_PLAIN = frozenset({str, int, bool, Decimal, date, type(None)})


def _set_from_arrays(model, rows: list[dict], fields: Sequence[str]) -> int:
    """PostgreSQL: ``UPDATE … FROM unnest(array, array, …)``, one array per column, so the
    statement has as many parameters as columns whatever the number of rows."""
    meta = model._meta
    qn = connection.ops.quote_name
    cols = [meta.pk, *(meta.get_field(f) for f in fields)]
    arrays, slots = [], []
    for c in cols:
        key = "pk" if c is meta.pk else (c.attname if c.attname in rows[0] else c.name)
        if isinstance(c, models.JSONField):
            arrays.append([None if r[key] is None else json.dumps(r[key], cls=c.encoder)
                           for r in rows])
            slots.append("CAST(CAST(%s AS text[]) AS jsonb[])")
        else:
            slot, param = pg_array([v if type(v) in _PLAIN else c.get_db_prep_value(v, connection)
                                    for v in (r[key] for r in rows)], c.db_type(connection))
            arrays.append(param)
            slots.append(slot)
    names = [f"c{i}" for i in range(len(cols))]
    sets = ", ".join(f"{qn(c.column)} = v.{n}" for c, n in zip(cols[1:], names[1:], strict=True))
    table = qn(meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET {sets} FROM unnest({', '.join(slots)}) "
                    f"AS v({', '.join(names)}) WHERE {table}.{qn(meta.pk.column)} = v.c0", arrays)
        return cur.rowcount


class FileKeys:
    """The keys of a streamed file's rows seen so far, in a temporary table (PostgreSQL):
    ``importers.schema.SeenKeys`` without the file's length in memory. One key set per
    instance; the table goes with the transaction (or ``close``)."""

    _tables = itertools.count()

    def __init__(self):
        self.table = f"import_keys_{os.getpid()}_{next(self._tables)}"
        with connection.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE {self.table} (k text PRIMARY KEY, "
                        "r integer NOT NULL) ON COMMIT DROP")

    def first_rows(self, items: list[tuple[tuple, int]]) -> list[int | None]:
        """For each (key, row) in row order: the earlier row with that key, or None."""
        if not items:
            return []
        keys = ["\x1f".join("" if x is None else str(x) for x in key) for key, _ in items]
        first: dict[str, int] = {}
        for k, (_, row) in zip(keys, items, strict=True):
            first.setdefault(k, row)
        with connection.cursor() as cur:
            cur.execute(f"INSERT INTO {self.table} SELECT * FROM unnest(CAST(%s AS text[]), "
                        "CAST(%s AS integer[])) ON CONFLICT (k) DO NOTHING RETURNING k",
                        [list(first), list(first.values())])
            new = {k for (k,) in cur.fetchall()}
            older = [k for k in first if k not in new]
            if older:   # keys of earlier parts: their first rows
                cur.execute(f"SELECT k, r FROM {self.table} WHERE k = ANY(CAST(%s AS text[]))",
                            [older])
                first.update(cur.fetchall())
        return [None if first[k] == row else first[k]
                for k, (_, row) in zip(keys, items, strict=True)]

    def close(self):
        with connection.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.table}")
