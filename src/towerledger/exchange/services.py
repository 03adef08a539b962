"""Run an import: read, parse, check, and store in one transaction, or store nothing.

``run_import`` is the one path used by the CLI, the web upload and the tests.
"""

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from towerledger.access import audit
from towerledger.access.scope import may_import, writes_everywhere
from towerledger.db.bulk import Counts, FileKeys
from towerledger.exchange import staged as staging
from towerledger.exchange.files import write_table
from towerledger.exchange.preview import Preview, compare
from towerledger.exchange.registry import Importer, get_kind
from towerledger.importers.reader import UnreadableFile, open_rows
from towerledger.importers.schema import (
    FIRST_DATA_ROW,
    RowError,
    SeenKeys,
    map_columns,
    parse_rows,
    seen_keys,
)

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class ImportResult:
    kind: str
    filename: str
    rows: int = 0
    counts: Counts = field(default_factory=Counts)
    errors: list[RowError] = field(default_factory=list)  # the first KEEP_ERRORS, by row
    stored: bool = False
    error_report: Path | None = None
    set_aside: int = 0
    preview: Preview | None = None   # preview=True: what storing would change (nothing stored)
    outcome: dict | None = None      # what storing led to (Kind.outcome): held bills, matches
    error_count: int = 0             # every error, also those beyond ``errors``

    @property
    def ok(self) -> bool:
        return self.stored


KEEP_ERRORS = 10_000   # errors kept in memory for the result (all go to the report)
CHUNK_ROWS = 25_000    # rows of a streamed file parsed, checked and stored at a time


def run_import(kind_name: str, path: str | Path, user=None, *, display_name: str | None = None,
               keep_going: bool = False, report_dir: Path | None = None,
               progress: Progress | None = None, reason: str = "",
               create_org: bool = False, preview: bool = False,
               staged: bool | None = None) -> ImportResult:
    """Import ``path`` as ``kind_name`` as ``user`` (None: the system itself).

    All-or-nothing by default: any bad row means nothing is written and an error report
    (the file's rows plus an error column) is written beside the input (or in
    ``report_dir``). With ``keep_going`` the good rows are stored and the bad ones are set
    aside in the report for correction.

    Every row is judged against the user's scope at check time (a clerk writes only in
    their city; viewers and operator users import nothing). ``create_org``: the file may
    create provinces and cities it names (province admins and the system only); without it
    a city that does not exist is a row error, not a new city.

    ``preview`` (导入预览, ``--dry-run``): check as usual, then tell what storing would
    change — new, changed (field, before → after), ended, removed, unchanged, and the
    counts — and write nothing (``result.stored`` stays False, ``result.preview`` is set).

    The file streams: a kind whose checks judge each row by itself and the database
    (``Kind.streams``) is read, parsed, checked and stored ``CHUNK_ROWS`` rows at a time in
    one transaction, rolled back at the end if any row was bad (all-or-nothing), with
    repeated keys found across the whole file (``seen_keys``: a temporary table on
    PostgreSQL) and the errors spooled to a file, so memory does not grow with the file.
    Kinds with rules across rows (host sites, an account's splits) and previews take the
    file in one part.

    On PostgreSQL a kind with ``Kind.staged`` takes the staged path (``exchange.staged``):
    the rows go by COPY into a staging table, checked and stored by set-based SQL, with the
    same errors, counts and stored rows. ``staged=False`` forces the Python path (tests
    compare the two); previews always take it.
    """
    kind = get_kind(kind_name)
    if not kind.importable:
        raise ValueError(f"{kind_name} is export only (仅导出)")
    path = Path(path)
    result = ImportResult(kind=kind_name, filename=display_name or path.name)
    tick = progress or (lambda stage, done, total: None)
    importer = Importer(user, create_org)
    refused = _refused(kind, importer)
    if refused:
        result.errors, result.error_count = [refused], 1
        return result
    try:
        stream = open_rows(path, display_name)
    except UnreadableFile as exc:
        result.errors, result.error_count = [RowError(0, "", exc.zh, exc.en)], 1
        return result
    log = ErrorLog()
    try:
        return _run(kind, stream, result, importer, log, path, keep_going, report_dir, tick,
                    reason, preview, staged)
    except UnreadableFile as exc:   # a limit or an encoding error found part way
        log.add([RowError(0, "", exc.zh, exc.en)])
        result.stored, result.counts, result.outcome = False, Counts(), None
        result.errors, result.error_count = log.kept(), log.count
        return result
    finally:
        log.close()


def _run(kind, stream, result, importer, log, path, keep_going, report_dir, tick, reason,
         preview, staged=None) -> ImportResult:
    from django.db import connection

    _, header_errors = map_columns(kind.schema, stream.headers)
    if header_errors:
        log.add(header_errors)
        _finish_errors(result, log, stream, path, report_dir)
        return result
    if preview:
        return _run_preview(kind, stream, result, importer, log, path, report_dir, keep_going)
    size = CHUNK_ROWS if kind.streams else None
    pg = connection.vendor == "postgresql"
    done = 0

    def stored(n):
        nonlocal done
        done += n
        tick("store", done, 0)

    use_stage = staging.applies(kind, preview, staged)
    with transaction.atomic():
        if use_stage:
            failed = staging.run(kind, stream, result, importer, log, keep_going, tick)
        else:
            seen = seen_keys(kind.schema, FileKeys if pg and kind.streams else SeenKeys)
            failed = _run_parts(kind, stream, result, importer, log, keep_going, size, seen,
                                tick, stored)
            for keys in seen.values():   # (on an exception the rollback drops them)
                if isinstance(keys, FileKeys):
                    keys.close()
        result.rows = stream.row_count
        if failed:
            transaction.set_rollback(True)
        else:
            audit.record(importer.user, "import", kind.name, result.filename, after={
                "rows": result.rows, "created": result.counts.created,
                "updated": result.counts.updated, "unchanged": result.counts.unchanged,
                "set_aside": result.set_aside}, reason=reason or f"import {result.filename}")
            changed = _changed_tables()
    if log.count:
        _finish_errors(result, log, stream, path, report_dir)
    if failed:
        result.counts, result.outcome = Counts(), None
        return result
    result.stored = True
    if result.counts.created + result.counts.updated >= ANALYZE_AFTER:
        _refresh_statistics(changed)
    return result


def _run_parts(kind, stream, result, importer, log, keep_going, size, seen, tick,
               stored) -> bool:
    """Parse, check and store the file part by part; True if a bad row fails the file."""
    failed = False
    for start, rows in _chunks(stream.rows, size):
        tick("check", start - FIRST_DATA_ROW, 0)
        records, errors = _parse_check(kind, rows, stream.headers, start, seen, importer)
        del rows
        if errors and keep_going:
            records, errors = _drop_bad(kind, records, errors, importer)
            result.set_aside += len({e.row for e in errors})
        log.add(errors)
        failed = failed or (bool(errors) and not keep_going)
        if failed or not records:
            continue
        result.counts += kind.store(records, user=importer.user, progress=stored)
        if kind.outcome is not None:
            result.outcome = _merge_outcome(result.outcome, kind.outcome(records))
    return failed


def _run_preview(kind, stream, result, importer, log, path, report_dir, keep_going):
    """The whole file at once (the preview lists every change it would make)."""
    rows = list(stream.rows)
    result.rows = stream.row_count
    records, errors = _parse_check(kind, rows, stream.headers, FIRST_DATA_ROW,
                                   seen_keys(kind.schema), importer)
    del rows
    if errors and keep_going:
        records, errors = _drop_bad(kind, records, errors, importer)
        result.set_aside = len({e.row for e in errors})
    log.add(errors)
    if log.count:
        _finish_errors(result, log, stream, path, report_dir)
        if not keep_going:
            return result
    result.counts, result.preview = _preview(kind, records, importer.user)
    return result


def _parse_check(kind, rows, headers, start, seen, importer):
    partial: list[dict] = []
    records, errors = parse_rows(kind.schema, headers, rows, partial, start, seen)
    errors += _check(kind, records, importer)
    errors += _check_partial(kind, records, partial, importer)
    return records, errors


def _chunks(rows, size):
    """(spreadsheet row of the first, rows) for each ``size`` rows (None: all at once)."""
    start, part = FIRST_DATA_ROW, []
    for row in rows:
        part.append(row)
        if size is not None and len(part) >= size:
            yield start, part
            start, part = start + len(part), []
    if part or start == FIRST_DATA_ROW:
        yield start, part


def _merge_outcome(a: dict | None, b: dict) -> dict:
    """Outcomes of two parts of a file: counts added, lists joined up to the longer cap."""
    if a is None:
        return b
    out = {}
    for k, v in a.items():
        w = b.get(k)
        if isinstance(v, int) and isinstance(w, int):
            out[k] = v + w
        elif isinstance(v, list) and isinstance(w, list):
            out[k] = (v + w)[:max(OUTCOME_LIST, len(v))]
        else:
            out[k] = v
    return out


OUTCOME_LIST = 200   # items of each list an outcome keeps across the parts of a file


class ErrorLog:
    """Every error of an import, in row order: the first ``KEEP_ERRORS`` in memory, all of
    them in a spool file the error report is written from."""

    def __init__(self):
        self.count = 0
        self._kept: list[RowError] = []
        self._spool = None

    def add(self, errors: list[RowError]):
        if not errors:
            return
        errors = sorted(errors, key=lambda e: (e.row, e.column))
        self.count += len(errors)
        room = KEEP_ERRORS - len(self._kept)
        if room > 0:
            self._kept += errors[:room]
        if self._spool is None:
            self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")
        for e in errors:
            self._spool.write(json.dumps([e.row, e.column, e.zh, e.en], ensure_ascii=False))
            self._spool.write("\n")

    def kept(self) -> list[RowError]:
        return sorted(self._kept, key=lambda e: (e.row, e.column))

    def all(self):
        """Every error, in row order (each part's were sorted, the parts come in order)."""
        if self._spool is None:
            return
        self._spool.seek(0)
        for line in self._spool:
            yield RowError(*json.loads(line))

    def close(self):
        if self._spool is not None:
            self._spool.close()


def _finish_errors(result, log, stream, path, report_dir):
    result.errors, result.error_count = log.kept(), log.count
    result.error_report = _write_report(stream, log, path, report_dir)


ANALYZE_AFTER = 10_000       # rows an import creates or updates before statistics refresh
ANALYZE_TABLE_AFTER = 1_000  # rows of one table it wrote before that table is analysed
ANALYZE_TABLE_SHARE = 0.1    # ... and at least this share of the rows the table had


def _changed_tables() -> list[tuple[str, str]]:
    """(schema, table) of the tables this transaction wrote many rows to, many for the
    table's size: at least ``ANALYZE_TABLE_AFTER`` rows and ``ANALYZE_TABLE_SHARE`` of the
    rows its statistics last counted (autovacuum's own rule, 10 %: fewer new rows hardly
    move a large table's statistics, and sampling it again costs the import seconds).
    PostgreSQL keeps the counts per transaction in pg_stat_xact_user_tables; a table never
    analysed (reltuples −1) counts as empty."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cur:
        cur.execute("SELECT t.schemaname, t.relname FROM pg_stat_xact_user_tables t "
                    "JOIN pg_class c ON c.oid = t.relid "
                    "WHERE t.n_tup_ins + t.n_tup_upd + t.n_tup_del "
                    ">= greatest(%s, %s * c.reltuples) "
                    "AND t.schemaname NOT LIKE 'pg_temp%%' ORDER BY t.relname",
                    [ANALYZE_TABLE_AFTER, ANALYZE_TABLE_SHARE])
        return cur.fetchall()


def _refresh_statistics(tables: list[tuple[str, str]]):
    """After a large import, let PostgreSQL's planner see the new rows at once (autovacuum
    would get there in its own time; until then a join on a freshly filled table can pick a
    plan that scans millions of rows). Only the tables the import wrote: a whole-database
    ANALYZE at province scale takes seconds, mostly on tables nothing touched."""
    from django.db import connection

    if connection.vendor == "postgresql" and tables:
        qn = connection.ops.quote_name
        with connection.cursor() as cur:
            cur.execute("ANALYZE " + ", ".join(f"{qn(s)}.{qn(t)}" for s, t in tables))


def _preview(kind, records, user) -> tuple[Counts, Preview]:
    """Store inside a transaction rolled back at once, and compare the kind's snapshots
    before and after: the preview is what the store really does. Nothing is kept (on
    PostgreSQL only the id sequences move on)."""
    with transaction.atomic():
        before = kind.snapshot(records) if kind.snapshot else {}
        counts = kind.store(records, user=user)
        after = kind.snapshot(records) if kind.snapshot else {}
        transaction.set_rollback(True)
    return counts, compare(before, after)


def _refused(kind, importer: Importer) -> RowError | None:
    """Why ``importer`` may not import this kind at all, or None."""
    if not may_import(importer.user):
        return RowError(0, "", "您无权导入数据（只读用户和运营商用户不能导入）",
                        "you may not import (viewers and operator users cannot)")
    if importer.create_org and not writes_everywhere(importer.user):
        return RowError(0, "", "只有省管理员可以创建组织数据（省份、地市）",
                        "only a province admin may create organisation data (provinces, cities)")
    if kind.authorise is None and not writes_everywhere(importer.user):
        return RowError(0, "", f"{kind.name} 只能由省管理员导入",
                        f"only a province admin may import {kind.name}")
    return None


def _check(kind, records, importer: Importer) -> list[RowError]:
    """Scope first, then the kind's own checks on the rows the user may write (so a check's
    message never describes a record outside the user's scope)."""
    errors = kind.authorise(records, importer) if kind.authorise else []
    outside = {e.row for e in errors}
    return errors + kind.check([r for r in records if r["_row"] not in outside])


PARTIAL_ROWS = 1_000  # rows with a bad column checked further (beyond: their columns only)


def _check_partial(kind, records, partial, importer: Importer) -> list[RowError]:
    """Every error of a row with a bad column: the kind's checks run again with those rows
    beside the good ones (group rules such as split sums need them together), and of what
    they say only the partial rows' errors on columns that did parse are kept (the good
    rows' errors came from the first pass). A check that cannot judge a row without the
    missing value (it fails on the None) adds nothing: the row's column errors stand."""
    # a row whose own key did not parse cannot be judged further (its references would be
    # judged against a record with no name)
    partial = [r for r in partial if not r["_bad"] & set(kind.schema.key)]
    if not partial or len(partial) > PARTIAL_ROWS:
        return []
    rows = {r["_row"]: r["_bad"] for r in partial}
    try:
        more = _check(kind, [*records, *({k: x for k, x in r.items() if k != "_bad"}
                                         for r in partial)], importer)
    except (TypeError, AttributeError, KeyError, ValueError, ArithmeticError):
        return []
    return [e for e in more if e.row in rows and e.column not in rows[e.row]]


def _drop_bad(kind, records, errors, importer: Importer):
    """Keep-going mode: drop bad rows and re-check the rest until the checks are clean."""
    all_errors = list(errors)
    for _ in range(5):
        bad = {e.row for e in errors}
        records = [r for r in records if r["_row"] not in bad]
        errors = _check(kind, records, importer)
        if not errors:
            break
        all_errors += errors
    else:
        records = []
    return records, list(dict.fromkeys(all_errors))


def _write_report(stream, log: ErrorLog, source: Path, report_dir: Path | None) -> Path:
    """The file's rows again, each with its errors in a last column (file-level errors on
    a first line of their own), written as the source is read a second time: memory does
    not grow with the file."""
    headers = [*stream.headers, "错误说明 / errors"]
    width = len(stream.headers)
    suffix = ".xlsx" if source.suffix.lower() in (".xlsx", ".xlsm", ".xls") else ".csv"
    target_dir = report_dir or source.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{Path(stream.name).stem}.errors{suffix}"

    def rows():
        errors = log.all()
        pending = next(errors, None)
        file_level = []
        while pending is not None and pending.row <= 1:
            file_level.append(pending.text())
            pending = next(errors, None)
        if file_level:
            yield [""] * width + ["; ".join(file_level)]
        again = open_rows(source, stream.name)
        last = stream.last_row
        for rowno, row in enumerate(again.rows, start=FIRST_DATA_ROW):
            if rowno > last:
                break
            texts = []
            while pending is not None and pending.row <= rowno:
                if pending.row == rowno:
                    texts.append(pending.text())
                pending = next(errors, None)
            padded = list(row) + [None] * (width - len(row))
            yield padded[:width] + ["; ".join(texts)]

    write_table(target, headers, rows(), **({"highlight_last": True} if suffix == ".xlsx"
                                            else {}))
    return target
