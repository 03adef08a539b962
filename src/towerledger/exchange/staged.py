"""The staged import path (PostgreSQL): the file's rows go by COPY into a temporary staging
table, and the checks and the store are set-based SQL over it (issue 18).

A kind opts in with ``Kind.staged`` (a ``Staged``: its check and its store as SQL). Its
rows are parsed in Python with the schema's own parsers (same values, same messages;
``importers.schema.row_parser`` makes plain cells cheap) and written to the staging table
``Stage.table``, one column per schema field named as the field and typed for its value
(text, date, numeric, bigint, boolean; NULL when empty or unparseable), plus:

* ``_row``  the spreadsheet row;
* ``_ok``   the row is still good: no cell error, not a repeat, no check error so far —
  what a kind's check judges and its store writes;
* ``_bad``  a cell of the row did not parse (or a required one is empty);
* ``_rep``  the row repeats an earlier row's key or ``unique`` column;
* ``_out``  set by ``Stage.set_out`` during one check: the row names a record outside
  the user's scope (the kind's own rules then leave it alone, as ``services._check``).

Every error goes to a second temporary table and reaches the ``ErrorLog`` at the end, in
row order, so the error report and the result are those of the Python path. The steps are
those of ``services._run_parts``: cell errors, repeated keys (one window-function query),
the kind's check, the check again with the rows that have a bad column (``_check_partial``:
their errors on the columns that did parse), then all-or-nothing (the caller rolls back) or
with ``keep_going`` the bad rows set aside and the rest checked again (``_drop_bad``), and
the store. Memory does not grow with the file: rows are written as they are read.

SQLite, previews and kinds without ``staged`` keep the Python path (services).
"""

import itertools
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection

from towerledger.access.scope import OUTSIDE_EN, OUTSIDE_ZH, writable, writes_everywhere
from towerledger.db.bulk import Counts
from towerledger.importers.reader import UnreadableFile
from towerledger.importers.schema import FIRST_DATA_ROW, RowError, map_columns, row_parser

BLOCK_ROWS = 25_000       # rows written per COPY (and per progress tick)
PARTIAL_ROWS = 1_000      # as services.PARTIAL_ROWS: rows with a bad column checked further
PARTIAL_PART = 25_000     # ... counted per this many rows for a streamed kind (CHUNK_ROWS)
KEEP_GOING_ROUNDS = 5     # as services._drop_bad

# phases of an error (the err table's ``phase``)
CELL, REPEAT, CHECK, PARTIAL, AGAIN = range(5)


@dataclass
class Stage:
    table: str            # the TEMP staging table (ON COMMIT DROP), see the module text
    cursor: object        # a Django cursor inside the import's transaction
    importer: object      # exchange.registry.Importer: user + create_org
    keep_going: bool
    kind: object = None   # the Kind being imported
    labels: dict[str, str] = field(default_factory=dict)   # field -> the file's header

    # the rows a kind's own rules judge: good so far and inside the user's scope
    judged = "_ok AND NOT _out"

    def errors(self, sql: str, params=None) -> list[RowError]:
        """Run a query returning (row, column, zh, en) rows; the errors, in its order."""
        self.cursor.execute(sql, params)
        return [RowError(*r) for r in self.cursor.fetchall()]

    def execute(self, sql: str, params=None):
        self.cursor.execute(sql, params)
        return self.cursor

    def set_out(self, errors: list[RowError]) -> None:
        """The rows of ``errors`` are outside the user's scope: the kind's own rules leave
        them alone for the rest of this check (``judged``)."""
        rows = sorted({e.row for e in errors})
        if rows:
            self.cursor.execute(f"UPDATE {self.table} s SET _out = true "
                                "FROM unnest(CAST(%s AS integer[])) AS e(r) WHERE s._row = e.r",
                                [rows])

    def outside(self, column: str, model, field: str | None = None) -> list[RowError]:
        """``exchange.authorise.outside_rows`` as SQL: the ``_ok`` rows whose ``column``
        names an existing ``model`` row (by ``field``, default the column's name) the user
        may not change."""
        user = self.importer.user
        if writes_everywhere(user):
            return []
        meta = model._meta
        target = meta.get_field(field or column).column
        allowed, params = writable(user, model.objects.all()).values("pk").query.sql_with_params()
        qn = connection.ops.quote_name
        return self.errors(
            f"SELECT s._row, %s, %s || s.{qn(column)}, %s || s.{qn(column)} "
            f"FROM {self.table} s JOIN {qn(meta.db_table)} m ON m.{qn(target)} = s.{qn(column)} "
            f"WHERE s._ok AND s.{qn(column)} <> '' AND m.{qn(meta.pk.column)} NOT IN ({allowed}) "
            "ORDER BY s._row", [column, f"{OUTSIDE_ZH}：", f"{OUTSIDE_EN}: ", *params])

    def count(self, where: str = "_ok") -> int:
        self.cursor.execute(f"SELECT count(*) FROM {self.table} WHERE {where}")
        return self.cursor.fetchone()[0]


@dataclass(frozen=True)
class Staged:
    # the kind's own rules AND its authorise (scope), as SQL over the staging table; the
    # rows judged are ``Stage.judged`` (after ``set_out`` of the rows outside the scope)
    check: Callable[[Stage], list[RowError]]
    # set-based upsert of the ``_ok`` rows from the staging table (INSERT … SELECT …)
    store: Callable[[Stage], Counts]


ENABLED = True   # tests switch the staged path off to compare it with the Python path


def applies(kind, preview: bool, staged: bool | None = None) -> bool:
    """Whether this import takes the staged path."""
    if staged is False or preview or getattr(kind, "staged", None) is None:
        return False
    return connection.vendor == "postgresql" and (ENABLED or staged is True)


# ---- column types and COPY text --------------------------------------------------------

def _escape(s: str) -> str:
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def _copy_text(sql_type: str) -> Callable[[object], str]:
    if sql_type == "text":
        return lambda value: _escape(str(value))
    if sql_type == "boolean":
        return lambda value: "t" if value else "f"
    if sql_type == "date":
        return date.isoformat
    return str   # numeric, bigint


_tables = itertools.count()


def run(kind, stream, result, importer, log, keep_going: bool, tick) -> bool:
    """Import the stream by the staged path inside the caller's transaction; True if a bad
    row fails the file (the caller rolls back). Errors go to ``log`` in row order."""
    schema = kind.schema
    parse = row_parser(schema, stream.headers, _copy_text)
    index, _ = map_columns(schema, stream.headers)
    labels = {f.name: stream.headers[index[f.name]] for f in schema.fields if f.name in index}
    n = next(_tables)
    table, errs = f"stage_{os.getpid()}_{n}", f"stage_err_{os.getpid()}_{n}"
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        stage = Stage(table, cur, importer, keep_going, kind, labels)
        columns = ", ".join(f"{qn(f.name)} {t}" for f, t in zip(schema.fields, parse.types,
                                                                 strict=True))
        # (statements without parameters go in one round trip each time they can)
        cur.execute(
            # the queries are plain joins over a fresh table: JIT compiling them (its cost
            # estimates run high before ANALYZE sees the rows) takes longer than running them
            "SET LOCAL jit = off; "
            # sorts and hashes of a file's rows in memory (the default 4 MB spills to disk)
            "SET LOCAL work_mem = '64MB'; "
            f"CREATE TEMP TABLE {table} (_row integer NOT NULL, _ok boolean NOT NULL, "
            f"_bad boolean NOT NULL, _rep boolean NOT NULL DEFAULT false, "
            f"_out boolean NOT NULL DEFAULT false, {columns}) ON COMMIT DROP; "
            f"CREATE TEMP TABLE {errs} (seq bigserial, row integer, col text, "
            "zh text, en text, phase smallint, field text) ON COMMIT DROP")
        copy_sql = (f"COPY {table} (_row, _ok, _bad, "
                    f"{', '.join(qn(f.name) for f in schema.fields)}) FROM STDIN")
        cell_errors = _load(cur, stream, parse, copy_sql, errs, tick, log)
        # the planner's row counts and a rough idea of the values; a small sample will do
        cur.execute(f"CREATE INDEX ON {table} (_row); "
                    "SET LOCAL default_statistics_target = 10; "
                    f"ANALYZE {table}; "
                    "SET LOCAL default_statistics_target TO DEFAULT")
        _repeats(stage, errs)
        failed, any_errors = _judge(stage, errs, keep_going, result, cell_errors)
        good = 0 if failed else stage.count()
        if good:
            tick("store", 0, 0)
            result.counts += kind.staged.store(stage)
            # what storing led to (Kind.outcome), when the kind's store tells it
            result.outcome = getattr(stage, "outcome", result.outcome)
            tick("store", good, 0)
        if any_errors:
            _drain(cur, errs, log)
        # (an import inside a larger transaction leaves it its own settings)
        cur.execute(f"DROP TABLE {table}, {errs}; "
                    "SET LOCAL jit TO DEFAULT; SET LOCAL work_mem TO DEFAULT")
    return failed


def _load(cur, stream, parse, copy_sql, errs, tick, log) -> bool:
    """Parse each row and COPY the values into the staging table, one COPY per block of
    ``BLOCK_ROWS``; the cell errors are spooled to a file and copied into the error table
    after (True if there were any). Progress is told between the blocks, never inside a COPY: a web job's ``tick``
    writes its progress row on this same connection, which a COPY holds until it ends.

    A file found unreadable part way (a limit, an encoding) raises ``UnreadableFile``; the
    cell errors of the rows read before go to ``log`` first, as the Python path has logged
    the parts before it."""
    rowno = FIRST_DATA_ROW - 1
    rows = iter(stream.rows)
    spool = None
    cell_errors: list = []
    while True:
        block, cell_errors = [], []
        try:
            # (extend keeps the rows read before an exception in the middle of the block)
            block.extend(itertools.islice(rows, BLOCK_ROWS))
        except UnreadableFile:
            parse.block(block, rowno + 1, cell_errors)
            log.add([*_spooled(spool), *(e for e, _ in cell_errors)])
            raise
        text = parse.block(block, rowno + 1, cell_errors)
        rowno += len(block)
        if text:
            with cur.cursor.copy(copy_sql) as copy:
                copy.write(text)
        if cell_errors:
            if spool is None:
                spool = tempfile.TemporaryFile("w+", encoding="utf-8")
            for e, f in cell_errors:
                spool.write(json.dumps([e.row, e.column, e.zh, e.en, f], ensure_ascii=False))
                spool.write("\n")
            cell_errors = []
        tick("check", rowno - FIRST_DATA_ROW + 1, 0)
        if len(block) < BLOCK_ROWS:
            break
    if spool is not None:
        with cur.cursor.copy(f"COPY {errs} (row, col, zh, en, phase, field) "
                             "FROM STDIN") as copy:
            spool.seek(0)
            for line in spool:
                row, col, zh, en, f = json.loads(line)
                copy.write_row((row, col, zh, en, CELL, f))
        spool.close()
    return spool is not None


def _spooled(spool):
    if spool is None:
        return
    spool.seek(0)
    for line in spool:
        yield RowError(*json.loads(line)[:4])
    spool.close()


def _add(cur, errs: str, rows: list[tuple]) -> None:
    """Append (row, column, zh, en, phase, field) to the error table, in the given order."""
    if not rows:
        return
    with cur.cursor.copy(f"COPY {errs} (row, col, zh, en, phase, field) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(r)


def _repeats(stage: Stage, errs: str) -> None:
    """Rows repeating an earlier row's key, then each ``unique`` column (``schema._repeats``,
    with its messages): one window-function query each, over the rows that parsed."""
    schema, t, cur = stage.kind.schema, stage.table, stage.cursor
    qn = connection.ops.quote_name
    keys = ", ".join(qn(k) for k in schema.key)
    # the keys that repeat (a hash aggregate), then the window over their rows only; a key
    # with an optional part (None equals None there) takes the window over every row
    required = all(schema.field(k).required for k in schema.key)
    among = (f"{t} JOIN (SELECT {keys} FROM {t} WHERE NOT _bad GROUP BY {keys} "
             f"HAVING count(*) > 1) d USING ({keys})") if required else t
    cur.execute(f"UPDATE {t} s SET _rep = true, _ok = false FROM ("
                f"SELECT _row, min(_row) OVER (PARTITION BY {keys}) AS first FROM {among} "
                f"WHERE NOT _bad) f WHERE f._row = s._row AND f.first <> f._row "
                f"RETURNING s._row, f.first, {', '.join(f's.{qn(k)}' for k in schema.key)}")
    column = stage.labels.get(schema.key[0], schema.key[0])
    found = []
    for row, first, *key in sorted(cur.fetchall()):
        text = "/".join(map(str, key))
        found.append((row, column, f"与第 {first} 行重复（{text}）",
                      f"duplicates row {first} ({text})", REPEAT, None))
    _add(cur, errs, found)
    for name in schema.unique:
        f = schema.field(name)
        col = qn(name)
        cur.execute(f"UPDATE {t} s SET _rep = true, _ok = false FROM ("
                    f"SELECT _row, min(_row) OVER (PARTITION BY {col}) AS first FROM {t} "
                    f"WHERE NOT _bad AND NOT _rep AND {col} IS NOT NULL) f "
                    f"WHERE f._row = s._row AND f.first <> f._row RETURNING s._row, f.first, s.{col}")
        _add(cur, errs, [(row, name, f"{f.zh} {value} 与第 {first} 行重复",
                          f"{name} {value} repeats row {first}", REPEAT, None)
                         for row, first, value in sorted(cur.fetchall())])


def _check(stage: Stage) -> list[RowError]:
    stage.execute(f"UPDATE {stage.table} SET _out = false WHERE _out")
    return stage.kind.staged.check(stage)


def _judge(stage: Stage, errs: str, keep_going: bool, result,
           cell_errors: bool = True) -> tuple[bool, bool]:
    """The kind's check, the partial rows (only rows with a cell error are partial),
    keep-going; (whether the file fails, whether there is any error)."""
    t, cur = stage.table, stage.cursor
    found = _check(stage)
    _add(cur, errs, [(e.row, e.column, e.zh, e.en, CHECK, None) for e in found])
    if cell_errors:
        _partial(stage, errs)
    _mark_bad(stage, found)
    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {errs})")
    if not cur.fetchone()[0]:
        return False, False
    if not keep_going:
        return True, True
    for _ in range(KEEP_GOING_ROUNDS):   # services._drop_bad
        found = _check(stage)
        if not found:
            break
        _add(cur, errs, [(e.row, e.column, e.zh, e.en, AGAIN, None)
                         for e in dict.fromkeys(found)])
        _mark_bad(stage, found)
    else:
        cur.execute(f"UPDATE {t} SET _ok = false WHERE _ok")
    cur.execute(f"SELECT count(DISTINCT row) FROM {errs}")
    result.set_aside += cur.fetchone()[0]
    return False, True


def _mark_bad(stage: Stage, errors: list[RowError]) -> None:
    """The rows of ``errors`` are no longer good."""
    rows = sorted({e.row for e in errors})
    if rows:
        # (a join: ``= ANY`` of a parameter array is a scan of the array per row)
        stage.execute(f"UPDATE {stage.table} s SET _ok = false FROM "
                      "unnest(CAST(%s AS integer[])) AS e(r) WHERE s._row = e.r AND s._ok", [rows])


def _partial(stage: Stage, errs: str) -> None:
    """``services._check_partial``: the rows with a bad column (their key parsed) are
    checked beside the good ones, at most ``PARTIAL_ROWS`` of them per part of the file
    (a streamed kind's parts), and of their errors those on columns that did parse count."""
    t, cur, schema = stage.table, stage.cursor, stage.kind.schema
    part = PARTIAL_PART if stage.kind.streams else 1 << 30
    key = list(schema.key)
    cur.execute(
        f"WITH p AS (SELECT _row, (_row - %s) / %s AS part FROM {t} s WHERE _bad AND NOT EXISTS "
        f"(SELECT 1 FROM {errs} e WHERE e.row = s._row AND e.phase = %s AND "
        f"e.field = ANY(%s))), n AS (SELECT part FROM p GROUP BY part HAVING count(*) <= %s) "
        f"SELECT array_agg(_row) FROM p JOIN n USING (part)",
        [FIRST_DATA_ROW, part, CELL, key, PARTIAL_ROWS])
    rows = cur.fetchone()[0]
    if not rows:
        return
    # the good rows as the first check saw them (before its errors), and the partial ones
    cur.execute(f"UPDATE {t} SET _ok = NOT _bad AND NOT _rep")
    cur.execute(f"UPDATE {t} s SET _ok = true FROM unnest(CAST(%s AS integer[])) AS e(r) "
                "WHERE s._row = e.r", [rows])
    found = _check(stage)
    cur.execute(f"SELECT row, col, field FROM {errs} e JOIN unnest(CAST(%s AS integer[])) "
                "AS p(r) ON e.row = p.r WHERE phase = %s", [rows, CELL])
    bad: dict[int, set] = {}
    for row, col, name in cur.fetchall():
        bad.setdefault(row, set()).update((col, name))
    wanted = set(rows)
    _add(cur, errs, [(e.row, e.column, e.zh, e.en, PARTIAL, None) for e in found
                     if e.row in wanted and e.column not in bad.get(e.row, ())])
    cur.execute(f"UPDATE {t} SET _ok = NOT _bad AND NOT _rep")


def _drain(cur, errs: str, log) -> None:
    """Every error into the log, in row order (columns by code point, as Python sorts;
    within a row and column in the order they were found), a block at a time."""
    named = cur.cursor.connection.cursor(name=f"{errs}_read")
    named.execute(f'SELECT row, col, zh, en FROM {errs} ORDER BY row, col COLLATE "C", seq')
    while True:
        block = named.fetchmany(10_000)
        if not block:
            break
        log.add([RowError(*r) for r in block])
    named.close()


# ---- building blocks of a kind's store -------------------------------------------------

def upsert(stage: Stage, model, source: str, key: tuple[str, ...], fields: tuple[str, ...],
           params=None) -> Counts:
    """``db.bulk.upsert`` as SQL: ``source`` is a SELECT giving ``_row`` and the model's
    columns ``key`` + ``fields`` (one row per key); rows whose key is new are inserted in
    row order (their ids ascending, as ``copy_insert``), rows whose ``fields`` differ are
    updated (``IS DISTINCT FROM``: None only equals None), the rest are unchanged."""
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    cur = stage.cursor
    same_key = " AND ".join(f"m.{qn(k)} = s.{qn(k)}" for k in key)
    differs = " OR ".join(f"m.{qn(f)} IS DISTINCT FROM s.{qn(f)}" for f in fields)
    sets = ", ".join(f"{qn(f)} = s.{qn(f)}" for f in fields)
    columns = ", ".join(qn(c) for c in (*key, *fields))
    # one statement: the UPDATE and the INSERT see the table as it was, so the rows each
    # writes are apart (existing keys, new keys)
    cur.execute(f"WITH s AS MATERIALIZED ({source}), "
                f"u AS (UPDATE {table} m SET {sets} FROM s WHERE {same_key} AND ({differs}) "
                f"RETURNING 1), "
                f"i AS (INSERT INTO {table} ({columns}) SELECT {columns} FROM s "
                f"WHERE NOT EXISTS (SELECT 1 FROM {table} m WHERE {same_key}) ORDER BY s._row "
                f"RETURNING 1) "
                f"SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM u), "
                f"(SELECT count(*) FROM i)", params)
    total, updated, created = cur.fetchone()
    return Counts(created=created, updated=updated, unchanged=total - created - updated)
