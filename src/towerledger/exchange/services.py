"""Run an import: read, parse, check, and store in one transaction, or store nothing.

``run_import`` is the one path used by the CLI, the web upload and the tests.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from towerledger.access import audit
from towerledger.access.scope import may_import, writes_everywhere
from towerledger.db.bulk import Counts
from towerledger.exchange.files import write_table
from towerledger.exchange.preview import Preview, compare
from towerledger.exchange.registry import Importer, get_kind
from towerledger.importers.reader import UnreadableFile, read_table
from towerledger.importers.schema import FIRST_DATA_ROW, RowError

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class ImportResult:
    kind: str
    filename: str
    rows: int = 0
    counts: Counts = field(default_factory=Counts)
    errors: list[RowError] = field(default_factory=list)
    stored: bool = False
    error_report: Path | None = None
    set_aside: int = 0
    preview: Preview | None = None   # preview=True: what storing would change (nothing stored)
    outcome: dict | None = None      # what storing led to (Kind.outcome): held bills, matches

    @property
    def ok(self) -> bool:
        return self.stored


def run_import(kind_name: str, path: str | Path, user=None, *, display_name: str | None = None,
               keep_going: bool = False, report_dir: Path | None = None,
               progress: Progress | None = None, reason: str = "",
               create_org: bool = False, preview: bool = False) -> ImportResult:
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
        result.errors = [refused]
        return result
    try:
        table = read_table(path, display_name)
    except UnreadableFile as exc:
        result.errors = [RowError(0, "", exc.zh, exc.en)]
        return result
    result.rows = len(table.rows)
    tick("parse", 0, result.rows)
    partial: list[dict] = []
    records, errors = _parse(kind, table, partial)
    tick("check", 0, result.rows)
    if not any(e.row == 1 for e in errors):
        errors += _check(kind, records, importer)
        errors += _check_partial(kind, records, partial, importer)
    if errors and keep_going and not any(e.row <= 1 for e in errors):
        records, errors = _drop_bad(kind, records, errors, importer)
    result.errors = sorted(errors, key=lambda e: (e.row, e.column))
    if result.errors:
        result.error_report = _write_report(table, result.errors, path, report_dir)
        if not keep_going or any(e.row <= 1 for e in result.errors):
            return result
        result.set_aside = len({e.row for e in result.errors})

    done = 0

    def stored(n):
        nonlocal done
        done += n
        tick("store", done, len(records))

    if preview:
        result.counts, result.preview = _preview(kind, records, user)
        return result
    with transaction.atomic():
        result.counts = kind.store(records, user=user, progress=stored)
        audit.record(user, "import", kind_name, result.filename, after={
            "rows": result.rows, "created": result.counts.created,
            "updated": result.counts.updated, "unchanged": result.counts.unchanged,
            "set_aside": result.set_aside}, reason=reason or f"import {result.filename}")
        changed = _changed_tables()
    result.stored = True
    if kind.outcome is not None:
        result.outcome = kind.outcome(records)
    if result.counts.created + result.counts.updated >= ANALYZE_AFTER:
        _refresh_statistics(changed)
    return result


ANALYZE_AFTER = 10_000       # rows an import creates or updates before statistics refresh
ANALYZE_TABLE_AFTER = 1_000  # rows of one table it wrote before that table is analysed


def _changed_tables() -> list[tuple[str, str]]:
    """(schema, table) of the tables this transaction wrote many rows to (PostgreSQL keeps
    the count per transaction in pg_stat_xact_user_tables)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cur:
        cur.execute("SELECT schemaname, relname FROM pg_stat_xact_user_tables "
                    "WHERE n_tup_ins + n_tup_upd + n_tup_del >= %s ORDER BY relname",
                    [ANALYZE_TABLE_AFTER])
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


def _parse(kind, table, partial=None):
    from towerledger.importers.schema import parse_rows

    return parse_rows(kind.schema, table.headers, table.rows, partial)


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


def _write_report(table, errors: list[RowError], source: Path, report_dir: Path | None) -> Path:
    by_row: dict[int, list[str]] = {}
    for e in errors:
        by_row.setdefault(e.row, []).append(e.text())
    headers = [*table.headers, "错误说明 / errors"]
    out_rows = []
    file_level = by_row.get(0, []) + by_row.get(1, [])
    if file_level:
        out_rows.append([""] * len(table.headers) + ["; ".join(file_level)])
    for offset, row in enumerate(table.rows):
        rowno = offset + FIRST_DATA_ROW
        padded = list(row) + [None] * (len(table.headers) - len(row))
        out_rows.append(padded[:len(table.headers)] + ["; ".join(by_row.get(rowno, []))])
    suffix = ".xlsx" if source.suffix.lower() in (".xlsx", ".xlsm", ".xls") else ".csv"
    target_dir = report_dir or source.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{Path(table.name).stem}.errors{suffix}"
    write_table(target, headers, out_rows, **({"highlight_last": True} if suffix == ".xlsx" else {}))
    return target
