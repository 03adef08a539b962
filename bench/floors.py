"""What PostgreSQL itself needs for a stage's rows, measured in the same run (the "floor").

Around each heavy stage the bench calls ``mark()`` just before it and ``measure()`` just
after it. ``measure`` finds what the stage wrote and writes the same rows again with
PostgreSQL alone, timed, into scratch tables shaped like the real ones — ``CREATE TABLE
bench_floor.t (LIKE public.t INCLUDING INDEXES INCLUDING DEFAULTS)``, so the same
indexes (unique and partial ones included; foreign keys and triggers are not copied) —
holding the rows the real table held before the stage, so the indexes are as large too:

* rows added (every public table whose integer primary key grew past the mark):
  ``copy``   — the added rows, in the table's own columns (written out untimed with
               ``COPY (SELECT …) TO STDOUT``: the import file's rows mapped to the table's
               columns, keys already resolved), loaded with one ``COPY … FROM STDIN`` per
               table (the floor of an import);
  ``insert`` — one ``INSERT … SELECT`` per table of the same rows (the floor of a bulk
               stage that computes its rows from the database);
* rows changed in the tables named at the mark (their pre-image is kept untimed): one
  ``UPDATE`` per table setting the changed columns of exactly the changed rows to their new
  values, in a LIKE copy holding the pre-image;
* ``replace``: SQL of our own for one table instead of copying its rows (matching: the
  applications computed by one window-function ``INSERT … SELECT``, see MATCH_SQL).

Every table of the stage is written in one transaction; the time of that transaction is the
floor. Preparing (pre-images, LIKE tables, dumps, changed-row sets) is not timed, and the
scratch tables are dropped afterwards. The schema ``bench_floor`` lives in the bench's own
database and is dropped at the end of the run.
"""

import os
import tempfile
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

SCHEMA = "bench_floor"


@dataclass
class Mark:
    max_pk: dict[str, int]
    pre: list[str]
    at: float = field(default_factory=time.perf_counter)


@dataclass
class Floor:
    seconds: float
    how: str
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    replaced: dict[str, int] = field(default_factory=dict)
    product: dict[str, int] = field(default_factory=dict)   # the stage's rows of a replaced table

    @property
    def rows(self) -> int:
        return sum(self.inserted.values()) + sum(self.updated.values()) + sum(
            self.replaced.values())

    @property
    def note(self) -> str:
        verb = {"copy": "COPY", "insert": "INSERT…SELECT"}[self.how]
        parts = [f"{verb} {_tables(self.inserted)}"] if self.inserted else []
        if self.updated:
            parts.append(f"UPDATE {_tables(self.updated)}")
        if self.replaced:
            parts.append("window-function INSERT…SELECT " + ", ".join(
                f"{t} {n:,} (the stage wrote {self.product.get(t, 0):,})"
                for t, n in self.replaced.items()))
        return "; ".join(parts) or "nothing written"


def _tables(counts: dict[str, int]) -> str:
    return ", ".join(f"{t} {n:,}" for t, n in sorted(counts.items(), key=lambda kv: -kv[1]))


# Matching's floor: oldest-first applications of every open receipt to the open confirmed
# lines of its operator and city, by window functions over cumulative amounts — each line and
# each receipt is an interval on its (operator, city) axis; the pieces between consecutive
# interval starts are the applications. It ignores references (the product applies a
# statement's receipt to that statement's lines first), so its row count is close to the
# product's, not equal; both counts are reported.
MATCH_SQL = """
INSERT INTO bench_floor.collection_application
    (id, amount, rule, reason, created_at, reversal_reason, line_id, receipt_id, statement_id)
WITH applied AS (
    SELECT line_id, sum(amount) AS amount FROM public.collection_application
    WHERE id <= %(before)s AND reversed_at IS NULL GROUP BY line_id
), l AS (
    SELECT l.id, l.operator_id AS op, coalesce(l.city_id, 0) AS city, l.statement_id,
           l.receivable - coalesce(a.amount, 0) AS open, l.period_start
    FROM public.settlement_line l LEFT JOIN applied a ON a.line_id = l.id
    WHERE l.status = 'CONFIRMED' AND l.operator_id IS NOT NULL
), lc AS (
    SELECT id, op, city, statement_id, open,
           sum(open) OVER (PARTITION BY op, city ORDER BY period_start, id) AS hi
    FROM l WHERE open > 0
), rc AS (
    SELECT id, operator_id AS op, coalesce(city_id, 0) AS city, amount - applied AS open,
           sum(amount - applied) OVER (PARTITION BY operator_id, city_id
                                       ORDER BY received_date, id) AS hi
    FROM bench_floor.pre_collection_receipt WHERE amount > applied
), pts AS (       -- every interval start: a line's or a receipt's
    SELECT op, city, hi - open AS lo, 0 AS k, id AS line_id, statement_id, hi AS line_hi,
           NULL::bigint AS receipt_id, NULL::numeric AS receipt_hi FROM lc
    UNION ALL
    SELECT op, city, hi - open, 1, NULL, NULL, NULL, id, hi FROM rc
), numbered AS (  -- which line and which receipt each point falls in: the latest started
    SELECT *, lead(lo) OVER w AS next, count(line_id) OVER w AS lg,
           count(receipt_id) OVER w AS rg
    FROM pts WINDOW w AS (PARTITION BY op, city ORDER BY lo, k
                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
), carried AS (
    SELECT lo, next, rg, op, city, receipt_id, receipt_hi,
           max(line_id) OVER (PARTITION BY op, city, lg) AS cur_line,
           max(statement_id) OVER (PARTITION BY op, city, lg) AS cur_statement,
           max(line_hi) OVER (PARTITION BY op, city, lg) AS cur_line_hi
    FROM numbered
), pieces AS (
    SELECT cur_line AS line_id, cur_statement AS statement_id,
           max(receipt_id) OVER r AS receipt_id, max(receipt_hi) OVER r AS receipt_hi,
           lo, next, cur_line_hi AS line_hi
    FROM carried WINDOW r AS (PARTITION BY op, city, rg)
), applied_pieces AS (
    SELECT line_id, statement_id, receipt_id,
           least(next, line_hi, receipt_hi) - lo AS amount
    FROM pieces WHERE line_id IS NOT NULL AND receipt_id IS NOT NULL
      AND lo < line_hi AND lo < receipt_hi
)
SELECT %(before)s + row_number() OVER (), sum(amount), 'OLDEST', '最早优先 oldest first',
       now(), '', line_id, receipt_id, statement_id
FROM applied_pieces WHERE amount > 0
GROUP BY line_id, statement_id, receipt_id
"""


class Floors:
    def __init__(self, url: str, workdir: str | None = None):
        self.conn = psycopg.connect(url.replace("postgres://", "postgresql://"),
                                    autocommit=True)
        self.workdir = workdir or tempfile.gettempdir()
        self.conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        self.conn.execute(f"CREATE SCHEMA {SCHEMA}")

    # ---- catalog -------------------------------------------------------------------------

    def _pk_tables(self) -> dict[str, str]:
        """{table: primary-key column} of the public tables with one integer key."""
        rows = self.conn.execute("""
            SELECT c.relname, min(a.attname)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
            WHERE i.indisprimary AND n.nspname = 'public' AND c.relkind = 'r'
              AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
            GROUP BY c.relname HAVING count(*) = 1 AND min(i.indnatts) = 1""").fetchall()
        return dict(rows)

    def _columns(self, table: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum", (f"public.{table}",)).fetchall()]

    # ---- before the stage ----------------------------------------------------------------

    def mark(self, pre: tuple[str, ...] = ()) -> Mark:
        """The key high-water mark of every table, and a pre-image of the ``pre`` tables."""
        self.pks = self._pk_tables()
        max_pk = {}
        for t, pk in self.pks.items():
            q = sql.SQL("SELECT coalesce(max({}), 0) FROM public.{}").format(
                sql.Identifier(pk), sql.Identifier(t))
            max_pk[t] = self.conn.execute(q).fetchone()[0]
        for t in pre:
            self._drop(f"pre_{t}")
            self.conn.execute(sql.SQL("CREATE UNLOGGED TABLE {}.{} AS TABLE public.{}").format(
                sql.Identifier(SCHEMA), sql.Identifier(f"pre_{t}"), sql.Identifier(t)))
        self.conn.execute("CHECKPOINT")   # the stage and its floor start from clean buffers
        return Mark(max_pk, list(pre))

    # ---- after the stage -----------------------------------------------------------------

    def measure(self, mark: Mark, how: str = "insert",
                replace: dict[str, str] | None = None) -> Floor:
        """Write what the stage wrote again, with PostgreSQL alone; the floor."""
        replace = replace or {}
        pks = self._pk_tables()
        added = {}
        for t, pk in pks.items():
            before = mark.max_pk.get(t, 0)
            q = sql.SQL("SELECT count(*) FROM public.{} WHERE {} > %s").format(
                sql.Identifier(t), sql.Identifier(pk))
            n = self.conn.execute(q, (before,)).fetchone()[0]
            if n or t in replace:
                added[t] = n
        changed = {t: self._changed(t, pks[t]) for t in mark.pre}
        changed = {t: c for t, c in changed.items() if c[0]}
        # untimed: LIKE tables with the rows held before the stage, the dumps, the changes
        dumps = {}
        for t in set(added) | set(changed):
            pk = pks[t]
            self._like(t)
            if t in changed:
                src = sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(f"pre_{t}"))
                self.conn.execute(sql.SQL("INSERT INTO {}.{} SELECT * FROM {} WHERE {} <= %s")
                                  .format(sql.Identifier(SCHEMA), sql.Identifier(t), src,
                                          sql.Identifier(pk)), (mark.max_pk.get(t, 0),))
            else:
                self.conn.execute(sql.SQL("INSERT INTO {}.{} SELECT * FROM public.{} "
                                          "WHERE {} <= %s").format(
                    sql.Identifier(SCHEMA), sql.Identifier(t), sql.Identifier(t),
                    sql.Identifier(pk)), (mark.max_pk.get(t, 0),))
            if how == "copy" and t in added and t not in replace and added[t]:
                dumps[t] = self._dump(t, pk, mark.max_pk.get(t, 0))
        for t in set(added) | set(changed):
            self.conn.execute(sql.SQL("ANALYZE {}.{}").format(sql.Identifier(SCHEMA),
                                                               sql.Identifier(t)))
        if replace:
            self.conn.execute("ANALYZE")   # fresh statistics for the floor's own query
        self.conn.execute("CHECKPOINT")
        floor = Floor(0.0, how)
        start = time.perf_counter()
        with self.conn.transaction():
            for t, n in added.items():
                if t in replace:
                    cur = self.conn.execute(replace[t], {"before": mark.max_pk.get(t, 0)})
                    floor.replaced[t] = cur.rowcount
                    floor.product[t] = n
                elif how == "copy":
                    self._load(t, dumps[t])
                    floor.inserted[t] = n
                else:
                    self.conn.execute(sql.SQL("INSERT INTO {}.{} SELECT * FROM public.{} "
                                              "WHERE {} > %s").format(
                        sql.Identifier(SCHEMA), sql.Identifier(t), sql.Identifier(t),
                        sql.Identifier(pks[t])), (mark.max_pk.get(t, 0),))
                    floor.inserted[t] = n
            for t, (n, cols) in changed.items():
                sets = sql.SQL(", ").join(sql.SQL("{} = c.{}").format(
                    sql.Identifier(c), sql.Identifier(c)) for c in cols)
                self.conn.execute(sql.SQL("UPDATE {}.{} s SET {} FROM {}.{} c WHERE s.{} = c.{}")
                                  .format(sql.Identifier(SCHEMA), sql.Identifier(t), sets,
                                          sql.Identifier(SCHEMA), sql.Identifier(f"chg_{t}"),
                                          sql.Identifier(pks[t]), sql.Identifier(pks[t])))
                floor.updated[t] = n
        floor.seconds = time.perf_counter() - start
        for path in dumps.values():
            os.unlink(path)
        for t in set(added) | set(changed):
            self._drop(t)
        for t in mark.pre:
            self._drop(f"pre_{t}")
            self._drop(f"chg_{t}")
        return floor

    def close(self):
        self.conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        self.conn.close()

    # ---- helpers -------------------------------------------------------------------------

    def _drop(self, t: str):
        self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}.{}").format(
            sql.Identifier(SCHEMA), sql.Identifier(t)))

    def _like(self, t: str):
        self._drop(t)
        self.conn.execute(sql.SQL("CREATE TABLE {}.{} (LIKE public.{} INCLUDING INDEXES "
                                  "INCLUDING DEFAULTS)").format(
            sql.Identifier(SCHEMA), sql.Identifier(t), sql.Identifier(t)))

    def _changed(self, t: str, pk: str) -> tuple[int, list[str]]:
        """Rows of ``t`` that existed at the mark and differ now: their keys and new values of
        the changed columns go to bench_floor.chg_<t> (untimed); returns (rows, columns)."""
        cols = [c for c in self._columns(t) if c != pk]
        pre = sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(f"pre_{t}"))
        diff = sql.SQL(", ").join(
            sql.SQL("bool_or(p.{c}::text IS DISTINCT FROM r.{c}::text)").format(
                c=sql.Identifier(c)) for c in cols)
        row = self.conn.execute(sql.SQL(
            "SELECT count(*) FILTER (WHERE p::text IS DISTINCT FROM r::text), {} "
            "FROM {} p JOIN public.{} r USING ({})").format(
            diff, pre, sql.Identifier(t), sql.Identifier(pk))).fetchone()
        n, flags = row[0], row[1:]
        changed_cols = [c for c, f in zip(cols, flags, strict=True) if f]
        if not n:
            return 0, []
        self._drop(f"chg_{t}")
        self.conn.execute(sql.SQL(
            "CREATE UNLOGGED TABLE {s}.{chg} AS SELECT r.{pk}, {cols} FROM {pre} p "
            "JOIN public.{t} r USING ({pk}) WHERE p::text IS DISTINCT FROM r::text").format(
            s=sql.Identifier(SCHEMA), chg=sql.Identifier(f"chg_{t}"), pk=sql.Identifier(pk),
            cols=sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c))
                                    for c in changed_cols),
            pre=pre, t=sql.Identifier(t)))
        return n, changed_cols

    def _dump(self, t: str, pk: str, before: int) -> str:
        fd, path = tempfile.mkstemp(prefix=f"floor-{t}-", suffix=".copy", dir=self.workdir)
        q = sql.SQL("COPY (SELECT * FROM public.{} WHERE {} > {} ORDER BY {}) TO STDOUT").format(
            sql.Identifier(t), sql.Identifier(pk), sql.Literal(before), sql.Identifier(pk))
        with os.fdopen(fd, "wb") as f, self.conn.cursor().copy(q) as copy:
            for block in copy:
                f.write(block)
        return path

    def _load(self, t: str, path: str):
        q = sql.SQL("COPY {}.{} FROM STDIN").format(sql.Identifier(SCHEMA), sql.Identifier(t))
        with open(path, "rb") as f, self.conn.cursor().copy(q) as copy:
            while block := f.read(1 << 20):
                copy.write(block)
