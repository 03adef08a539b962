"""月结 `towerledger close YYYY-MM`: the month's own lines (lump sums and the programs'),
deadlines, the books check, the KPI snapshots at every scope, then the lock.

The programs (DOMAIN.md §7) stand above this layer: they take part through two signals,
``month_closing`` (step "programs": lines the close creates — lump-sum site fees, savings
shares, accruals) and ``month_snapshots`` (step "snapshots": their monthly figures). A
receiver is called ``receiver(sender=None, month=…, user=…, as_of=…)``, must be idempotent
(a close may be resumed) and returns a small dict for the close's summary.

Each step is recorded on the MonthClose row when it finishes, and each is safe to repeat
(deadlines are idempotent, the check only reads, the snapshots of the month are replaced in
one transaction), so a close killed at any point and run again finishes with the same
result and nothing doubled. A closed month stays closed; running it again changes nothing.
"""

from contextlib import contextmanager
from datetime import date

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.dispatch import Signal
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.analysis.kpi import compute
from towerledger.analysis.models import ProvisionalMonth, Snapshot
from towerledger.db import stats
from towerledger.db.bulk import chunked, copy_insert
from towerledger.db.parallel import in_workers, workers_for
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.months import month_end
from towerledger.ledger.models import MonthClose

STEPS = ("programs", "deadlines", "check", "snapshots", "lock")
month_closing = Signal()
month_snapshots = Signal()
# The steps' names, the one table of them: the CLI shows both languages, the web its page's.
STEP_LABELS = {"programs": ("本月明细", "Month lines"), "deadlines": ("期限处理", "Deadlines"), "check": ("账务检查", "Books check"),
               "snapshots": ("指标快照", "KPI snapshots"), "lock": ("锁定月份", "Lock")}
LABELS = {step: f"{zh} {en}" for step, (zh, en) in STEP_LABELS.items()}


class CloseError(DomainError):
    """The close refused or stopped; ``problems`` lists what the books check found."""

    def __init__(self, zh: str, en: str, problems: list[str] | None = None,
                 code: ErrorCode = ErrorCode.CONFLICT):
        super().__init__(zh, en, code)
        self.problems = problems or []


def close_month(month: date, user=None, as_of: date | None = None, progress=None) -> MonthClose:
    """Close ``month`` (first day); ``progress(step)`` is told each step as it starts."""
    month = month.replace(day=1)
    as_of = as_of or timezone.localdate()
    if month_end(month) >= as_of:
        raise CloseError(f"{month:%Y-%m} 尚未结束，不能关账", f"{month:%Y-%m} has not ended yet",
                         code=ErrorCode.INVALID)
    with _one_close_at_a_time():
        return _close(month, user, as_of, progress)


def _close(month, user, as_of, progress) -> MonthClose:
    mc, _ = MonthClose.objects.get_or_create(month=month)
    if mc.status == MonthClose.Status.CLOSED:
        return mc
    later = MonthClose.objects.filter(month__gt=month, status=MonthClose.Status.CLOSED)
    if later.exists():
        raise CloseError("之后的月份已关账", "a later month is already closed",
                         code=ErrorCode.LOCKED)
    ahead = {}   # the snapshot rows, when computed beside the check (_check_and_compute)
    for step in STEPS:
        if step in mc.steps:
            continue
        if progress:
            progress(step)
        if step == "check" and "snapshots" not in mc.steps:
            summary = _check_and_compute(mc, as_of, ahead)
        elif step == "snapshots":
            summary = _snapshots(mc, user, as_of, ahead.get("rows"))
        else:
            summary = globals()[f"_{step}"](mc, user, as_of)
        mc.steps = [*mc.steps, step]
        mc.summary = {**mc.summary, step: summary}
        mc.save(update_fields=["steps", "summary"])
    stats.refresh()   # snapshots, accruals, lump sums: the next month's pages plan on them
    return mc


@contextmanager
def _one_close_at_a_time():
    """A session lock on PostgreSQL (held across the steps' transactions, released at the
    end or when the process dies); SQLite lets one writer in at a time anyway."""
    if connection.vendor != "postgresql":
        yield
        return
    # on a connection of its own: the parallel steps close the others before they fork
    own = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with own.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(hashtext('towerledger.close'))")
            if not cur.fetchone()[0]:
                raise CloseError("另一个关账正在进行", "another close is running",
                                 code=ErrorCode.BUSY)
        try:
            yield
        finally:
            with own.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(hashtext('towerledger.close'))")
    finally:
        own.close()


def _programs(mc, user, as_of):
    """The month's own lines: lump sums (包干) and whatever the programs create at close."""
    from towerledger.settlement.services import lump_sums

    summary = {"lump_sums": lump_sums(mc.month, user, as_of)}
    return summary | _signal(month_closing, mc, user, as_of)


def _signal(signal, mc, user, as_of) -> dict:
    replies = signal.send(sender=None, month=mc.month, user=user, as_of=as_of)
    return {receiver.__module__.rsplit(".", 2)[-2]: result for receiver, result in replies
            if result is not None}


def _deadlines(mc, user, as_of):
    from towerledger.settlement.services import run_deadlines

    r = run_deadlines(as_of)
    return {"deemed": r.deemed, "overdue": r.overdue}


def _check(mc, user, as_of, problems=None):
    from towerledger.analysis.books import check_books

    problems = check_books() if problems is None else problems
    if problems:
        raise CloseError("账务检查未通过，未关账", "the books do not check out; not closed",
                         problems, ErrorCode.UNBALANCED)
    return {"problems": 0}


def _check_and_compute(mc, as_of, ahead: dict) -> dict:
    """The books check and the snapshots' figures (both only read) side by side in two
    worker processes on PostgreSQL (db.parallel), the figures kept in ``ahead`` for the
    snapshots step once the check has passed; one after the other where that cannot be."""
    from towerledger.analysis.books import check_books

    def job(part):
        return part, (check_books() if part == "check" else compute(mc.month, as_of))

    if workers_for(2) < 2:
        return _check(mc, None, as_of)
    done = dict(in_workers(job, ["check", "rows"], 2))
    ahead["rows"] = done["rows"]
    return _check(mc, None, as_of, done["check"])


def _snapshots(mc, user, as_of, rows=None):
    """The month's snapshots: stocks (outstanding, ageing, 欠费率) as of its last day, flows
    (confirmed, written off, receipts applied) as of the close date — and the summary says
    which. Live provisional figures of the month, if any, are replaced. ``rows``: the
    figures when computed already (beside the check, nothing written in between)."""
    rows = compute(mc.month, as_of) if rows is None else rows
    with transaction.atomic():
        Snapshot.objects.filter(month=mc.month).delete()
        for part in chunked(rows, 20000):   # COPY on PostgreSQL (db.bulk)
            copy_insert(Snapshot, [{"month": mc.month, **r} for r in part])
        ProvisionalMonth.objects.filter(month=mc.month).delete()
    return {"rows": len(rows), "stocks_as_of": month_end(mc.month).isoformat(),
            "flows_as_of": as_of.isoformat()} | _signal(month_snapshots, mc, user, as_of)


def _lock(mc, user, as_of):
    with transaction.atomic():
        mc.status, mc.finished_at = MonthClose.Status.CLOSED, timezone.now()
        mc.closed_by = user if getattr(user, "pk", None) else None
        mc.save(update_fields=["status", "finished_at", "closed_by"])
        record(user, "close", "month", f"{mc.month:%Y-%m}", None, {"status": "CLOSED"},
               "月结 month close")
    return {"closed": True}
