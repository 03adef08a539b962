"""确认、争议、调账: the operator's answer to pushed lines and the tower's answer to disputes.

Every function is one transaction, posts balanced entries and writes the audit log.

* confirm: Dr RECEIVABLE / Cr UNCONFIRMED per line (keyed by the line: never twice);
* dispute: the line waits, no money moves;
* answer (ACCEPT, PARTIAL, REJECT): the disputed line is superseded by an adjustment line
  carrying the amount now asked (0, the new amount, or the same), pushed again. The entry
  reverses the old line (Cr UNCONFIRMED, Dr TOWER_COST, Dr TAX_FACTOR) and books the new
  one (Dr UNCONFIRMED, Cr TOWER_COST, Cr TAX_FACTOR): what the operator no longer pays
  becomes tower-borne;
* a dispute of a line whose chain was already rejected once goes to the province
  (ESCALATED), where only a province admin answers it;
* deadlines: pushed lines past their confirm-by date are deemed confirmed where the
  operator's agreement says so; open disputes past their resolve-by date are marked overdue.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from towerledger.access.audit import record, record_many
from towerledger.access.models import AuditEntry, Role
from towerledger.access.scope import role_of, scoped, writable
from towerledger.db import stats
from towerledger.db.bulk import chunked, work_mem
from towerledger.db.parallel import in_workers, workers_for
from towerledger.domain import lifecycle
from towerledger.domain.codes import SettlementMode
from towerledger.domain.errors import DomainError
from towerledger.domain.journal import Posting, Unbalanced
from towerledger.domain.money import fen
from towerledger.domain.months import next_month
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.ledger.services import open_period_start, post_entries
from towerledger.settlement.allocate import Agreements
from towerledger.settlement.models import Dispute, IdempotencyKey, Line, LineQuerySet, LineTrace

# the stored statuses the lifecycle lets the deadline deem (PUSHED)
DEEMABLE = lifecycle.stored_statuses(lifecycle.states_allowing(lifecycle.LineEvent.DEEM))


class SettlementError(DomainError):
    """A settlement service's refusal: ``SettlementError(zh, en, code)``, code an ``ErrorCode``
    (default invalid)."""


@dataclass
class ConfirmResult:
    confirmed: list[int]
    already: list[int]
    refused: list[tuple[int, str]]   # (line pk, reason)


def _province_of(line: Line):
    return line.city.province_id


# ---- confirmation -----------------------------------------------------------------------

def confirm_lines(line_ids, user, *, deemed: bool = False, today: date | None = None,
                  reason: str = "", at=None) -> ConfirmResult:
    """Confirm pushed lines the user may see (the system, user None, for deemed ones).
    ``at``: when the operator confirmed (default now; the demo replays history)."""
    if user is not None and role_of(user) not in (Role.OPERATOR, Role.PROVINCE_ADMIN):
        raise SettlementError("只有运营商确认分摊明细", "only the operator confirms its lines",
                              "forbidden")
    ids = sorted(set(int(i) for i in line_ids))
    now = at or timezone.now()
    today = today or timezone.localdate()
    result = ConfirmResult([], [], [])
    for part in chunked(ids):
        with transaction.atomic():
            qs = scoped(user, Line.objects.filter(pk__in=part)).select_for_update(of=("self",))
            lines = {ln.pk: ln for ln in qs.select_related("site", "operator")}
            todo = []
            for pk in part:
                ln = lines.get(pk)
                state = ln and lifecycle.state_of(ln.status, ln.deemed)
                if ln is None:
                    result.refused.append((pk, "not found"))
                elif lifecycle.is_receivable(state):   # confirmed or deemed: nothing to do
                    result.already.append(pk)
                elif not lifecycle.may_confirm(state):
                    result.refused.append((pk, f"status {ln.status}"))
                else:
                    todo.append(ln)
            _confirm([_row(ln) for ln in todo], user, deemed, now, today, reason)
            result.confirmed += [ln.pk for ln in todo]
    return result


@dataclass(frozen=True)
class _Row:
    """What confirming a line needs to know of it."""
    pk: int
    receivable: Decimal
    site: str
    site_id: int
    operator: str
    operator_id: int


def _row(ln: Line) -> _Row:
    return _Row(ln.pk, ln.receivable, ln.site.site_code, ln.site_id, ln.operator.code,
                ln.operator_id)


def _confirm(lines: list[_Row], user, deemed, now, today, reason):
    """Mark ``lines`` confirmed and move their receivable from UNCONFIRMED to RECEIVABLE
    (one entry per line, keyed by it, so a line is never confirmed into the books twice)."""
    if not lines:
        return
    uid = user.pk if getattr(user, "pk", None) else None
    for part in chunked([ln.pk for ln in lines]):
        Line.objects.filter(pk__in=part).update(
            status=Line.Status.CONFIRMED, confirmed_at=now, confirmed_by_id=uid, deemed=deemed)
    entries = [(today, "CONFIRM", f"L{ln.pk}", f"确认 L{ln.pk}", [
        Posting("RECEIVABLE", debit=ln.receivable, site=ln.site, operator=ln.operator),
        Posting("UNCONFIRMED", credit=ln.receivable, site=ln.site, operator=ln.operator)])
        for ln in lines if ln.receivable]
    post_entries(entries, user, site_ids={ln.site: ln.site_id for ln in lines},
                 operator_ids={ln.operator: ln.operator_id for ln in lines})
    record_many(user, "deemed_confirm" if deemed else "confirm", "line",
                [(f"L{ln.pk}", {"status": "PUSHED"}, {"status": "CONFIRMED",
                                                       "receivable": ln.receivable})
                 for ln in lines], reason=reason or ("逾期视同确认 deemed" if deemed else ""))


# ---- disputes ---------------------------------------------------------------------------

def _chain_rejections(line: Line) -> int:
    """How many disputes along this line's chain of adjustments were rejected."""
    n, cur = 0, line
    while cur is not None:
        n += cur.disputes.filter(status=Dispute.Status.REJECTED).count()
        cur = cur.adjusts
    return n


def dispute_line(line_id, user, reason: str, comment: str = "", attachment=None,
                 today: date | None = None, at=None) -> Dispute:
    """The operator disputes one pushed line (稽核退回), with a reason code and comment.
    ``at``: when (default now; the demo replays history)."""
    if role_of(user) != Role.OPERATOR:
        raise SettlementError("只有运营商可以提出争议", "only the operator disputes its lines",
                              "forbidden")
    if reason not in Dispute.Reason.values:
        raise SettlementError(f"争议原因 {reason} 无效", f"unknown dispute reason {reason}")
    if reason == Dispute.Reason.OTHER and not comment.strip():
        raise SettlementError("原因为“其他”时须填写说明", "reason OTHER needs a comment")
    today = today or timezone.localdate()
    with transaction.atomic():
        line = scoped(user, Line.objects.filter(pk=line_id)).select_for_update().first()
        if line is None:
            raise SettlementError("分摊明细不存在", "no such line", "not_found")
        if not lifecycle.may_dispute(lifecycle.state_of(line.status, line.deemed)):
            raise SettlementError(f"该明细状态为 {line.status}，不能提出争议",
                                  f"line is {line.status}, not pending", "conflict")
        terms = Agreements()(line.operator_id, _province_of(line), today)
        escalate = _chain_rejections(line) > 0
        d = Dispute.objects.create(
            line=line, round=2 if escalate else 1, reason=reason, comment=comment,
            raised_by=user, raised_at=at or timezone.now(),
            due=today + timedelta(days=terms.resolve_within_days),
            status=Dispute.Status.ESCALATED if escalate else Dispute.Status.OPEN)
        if attachment is not None:
            d.attachment.save(attachment.name, attachment, save=True)
        Line.objects.filter(pk=line.pk).update(status=Line.Status.DISPUTED)
        record(user, "dispute", "line", f"L{line.pk}", {"status": "PUSHED"},
               {"status": "DISPUTED", "reason": reason, "escalated": escalate}, comment)
    return d


OUTCOMES = ("ACCEPT", "PARTIAL", "REJECT")


def answer_dispute(dispute_id, user, outcome: str, explanation: str,
                   new_amount: Decimal | None = None, today: date | None = None,
                   at=None) -> Line:
    """The tower side answers a dispute; returns the adjustment line pushed again.
    ``at``: when (default now; the demo replays history).

    The dispute row is locked first, so of two answers racing for one dispute the second
    finds it answered and fails; nothing is posted twice."""
    if outcome not in OUTCOMES:
        raise SettlementError(f"处理结果 {outcome} 无效", f"unknown outcome {outcome}")
    if not explanation.strip():
        raise SettlementError("请填写处理说明", "an explanation is required")
    role = role_of(user)
    if role not in (Role.PROVINCE_ADMIN, Role.CITY_CLERK):
        raise SettlementError("无权处理争议", "you may not answer disputes", "forbidden")
    today = today or timezone.localdate()
    with transaction.atomic():
        d = scoped(user, Dispute.objects.filter(pk=dispute_id)).select_for_update().first()
        if d is None:
            raise SettlementError("争议不存在", "no such dispute", "not_found")
        if d.status not in Dispute.OPEN_STATES:
            raise SettlementError("该争议已处理", "the dispute has already been answered",
                                  "conflict")
        if d.status == Dispute.Status.ESCALATED and role != Role.PROVINCE_ADMIN:
            raise SettlementError("该争议已升级到省公司，由省公司处理",
                                  "escalated: the province answers it", "forbidden")
        line = Line.objects.select_for_update(of=("self",)).select_related(
            "site", "operator", "city").get(pk=d.line_id)
        if not lifecycle.may_answer(lifecycle.state_of(line.status, line.deemed)):
            raise SettlementError(f"该明细状态为 {line.status}，不能处理争议",
                                  f"line is {line.status}, not disputed", "conflict")
        amount = _asked(outcome, line, new_amount)
        now = at or timezone.now()
        adj = _adjust(line, amount, user, today, d, now)
        d.status = {"ACCEPT": Dispute.Status.ACCEPTED, "PARTIAL": Dispute.Status.PARTIAL,
                    "REJECT": Dispute.Status.REJECTED}[outcome]
        d.answer, d.new_amount = explanation, amount
        d.answered_by, d.answered_at, d.adjustment = user, now, adj
        d.save()
        record(user, f"dispute_{outcome.lower()}", "dispute", f"D{d.pk}",
               {"line": f"L{line.pk}", "receivable": line.receivable},
               {"adjustment": f"L{adj.pk}", "receivable": amount}, explanation)
    return adj


def _asked(outcome, line: Line, new_amount) -> Decimal:
    if outcome == "ACCEPT":
        return Decimal("0.00")
    if outcome == "REJECT":
        return line.receivable
    if new_amount is None:
        raise SettlementError("部分接受须填写新金额", "PARTIAL needs the new amount")
    amount = fen(Decimal(new_amount))
    if amount < 0 or amount >= line.receivable:
        raise SettlementError(f"新金额须在 0 与 {line.receivable} 之间",
                              f"the new amount must be from 0 to below {line.receivable}")
    return amount


def _split_receivable(line: Line, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(cost share, tax-factor amount) of a receivable under the line's mode and factor."""
    if line.mode == SettlementMode.RESALE and line.tax_factor:
        cost = fen(amount / (1 + line.tax_factor))
        return cost, amount - cost
    return amount, Decimal("0.00")


def _adjust(line: Line, amount: Decimal, user, today, dispute: Dispute, now) -> Line:
    cost, tax = _split_receivable(line, amount)
    terms = Agreements()(line.operator_id, _province_of(line), today)
    push = amount > 0
    adj = Line.objects.create(
        kind=Line.Kind.ADJUSTMENT, bill_id=line.bill_id, site_id=line.site_id,
        city_id=line.city_id, tenancy_id=line.tenancy_id, operator_id=line.operator_id,
        mode=line.mode, month=today.replace(day=1), period_start=line.period_start,
        period_end=line.period_end, active_days=line.active_days, share=line.share,
        cost_share=cost, tax_factor=line.tax_factor, tax_amount=tax, receivable=amount,
        adjusts=line, root_id=line.chain_root_id,
        status=Line.Status.PUSHED if push else Line.Status.CONFIRMED,
        pushed_at=now, push_date=today,
        confirm_due=today + timedelta(days=terms.confirm_within_days) if push else None,
        confirmed_at=None if push else now)
    LineTrace.objects.create(line=adj, trace={
        **line.trace, "adjusts": f"L{line.pk}", "dispute": f"D{dispute.pk}",
        "previous_receivable": str(line.receivable), "receivable": str(amount)})
    Line.objects.filter(pk=line.pk).update(status=Line.Status.SUPERSEDED)
    site, op = line.site.site_code, line.operator.code
    old_cost, old_tax = line.receivable - line.tax_amount, line.tax_amount
    postings = [
        Posting("UNCONFIRMED", credit=line.receivable, site=site, operator=op),
        Posting("TOWER_COST", debit=old_cost, site=site),
        Posting("TAX_FACTOR", debit=old_tax, site=site, operator=op),
        Posting("UNCONFIRMED", debit=amount, site=site, operator=op),
        Posting("TOWER_COST", credit=cost, site=site),
        Posting("TAX_FACTOR", credit=tax, site=site, operator=op),
    ]
    postings = [p for p in postings if p.debit or p.credit]
    if postings:
        post_entries([(today, "ADJUSTMENT", f"D{dispute.pk}", f"调账 L{line.pk} → L{adj.pk}",
                       postings)], user, site_ids={site: line.site_id},
                     operator_ids={op: line.operator_id})
    return adj


# ---- lump sums ---------------------------------------------------------------------------

def lump_sums(month: date, user=None, today: date | None = None) -> int:
    """包干: each LUMP_SUM tenancy's monthly line for ``month``, prorated by active days,
    pushed like any other line (Dr UNCONFIRMED / Cr TOWER_COST: it recovers tower-borne
    cost). Returns the lines created; a month already done creates nothing."""
    from towerledger.db.bulk import copy_insert
    from towerledger.domain.allocation import TenancyIn, lump_sum_line
    from towerledger.sites.models import Tenancy

    today = today or timezone.localdate()
    first, nxt = month.replace(day=1), next_month(month)
    last = nxt - timedelta(days=1)
    done = set(Line.objects.filter(kind=Line.Kind.LUMP_SUM, month=first)
               .values_list("tenancy_id", flat=True))
    tenancies = list(writable(user, Tenancy.objects.all()).filter(   # a clerk: their city's
        settlement_mode=SettlementMode.LUMP_SUM, lump_sum_monthly__isnull=False,
        start_date__lte=last).exclude(end_date__lt=first).exclude(pk__in=done).values(
        "pk", "tenancy_id", "operator_id", "operator__code", "start_date", "end_date",
        "settlement_mode", "lump_sum_monthly", "site_id", "site__site_code",
        "site__decommission_date", "site__county__city_id",
        "site__county__city__province_id"))
    terms = Agreements()
    now = timezone.now()
    # plain rows written by COPY (copy_insert), as allocation writes its lines
    lines, traces, entries = [], [], []
    for t in tenancies:
        closed = t["site__decommission_date"]
        end = min(filter(None, (t["end_date"], closed)), default=None)
        amount, days, trace = lump_sum_line(
            TenancyIn(t["pk"], t["tenancy_id"], t["operator__code"], t["start_date"], end,
                      t["settlement_mode"]), t["lump_sum_monthly"], first, last)
        if not days:
            continue
        due = today + timedelta(days=terms(t["operator_id"],
                                           t["site__county__city__province_id"],
                                           today).confirm_within_days)
        lines.append({
            "kind": Line.Kind.LUMP_SUM, "site_id": t["site_id"],
            "city_id": t["site__county__city_id"], "tenancy_id": t["pk"],
            "operator_id": t["operator_id"], "mode": t["settlement_mode"], "month": first,
            "period_start": max(first, t["start_date"]), "period_end": min(last, end or last),
            "active_days": days, "share": Decimal(1), "cost_share": amount,
            "receivable": amount, "status": Line.Status.PUSHED, "pushed_at": now,
            "push_date": today, "confirm_due": due})
        traces.append(trace)
        if amount:
            code = t["site__site_code"]
            entries.append((today, "LUMP_SUM", f"T{t['pk']}:{first:%Y-%m}",
                            f"包干 {t['tenancy_id']} {first:%Y-%m}", [
                                Posting("UNCONFIRMED", debit=amount, site=code,
                                        operator=t["operator__code"]),
                                Posting("TOWER_COST", credit=amount, site=code)]))
    with transaction.atomic():
        ids = copy_insert(Line, lines)
        copy_insert(LineTrace, [{"line_id": pk, "trace": trace}
                                for pk, trace in zip(ids, traces, strict=True)])
        sites = {t["site__site_code"]: t["site_id"] for t in tenancies}
        post_entries(entries, user, site_ids=sites,
                     operator_ids={t["operator__code"]: t["operator_id"] for t in tenancies})
    return len(lines)


# ---- deadlines --------------------------------------------------------------------------

@dataclass
class DeadlineResult:
    deemed: int
    overdue: int


def run_deadlines(today: date | None = None) -> DeadlineResult:
    """Deem confirmed the pushed lines past their date (where the agreement says so) and
    mark open disputes past their date overdue. Safe to run any number of times a day.

    Set-wise (issue 18): the late lines are split into ranges of ids, each deemed in one
    transaction by a handful of statements — the lines updated, one CONFIRM entry per line
    (Dr RECEIVABLE / Cr UNCONFIRMED, keyed by it) and one audit entry per line inserted by
    INSERT … SELECT — with no Python per line. On PostgreSQL the ranges run in parallel
    processes (db.parallel); the result is the serial run's."""
    today = today or timezone.localdate()
    now = timezone.now()
    late = _late(today)
    # the agreements say per (operator, province, push date) whether a late line is deemed:
    # a few hundred groups, decided here once; the lines of the others stay pending
    terms = Agreements()
    kept = [g for g in late.order_by().values_list("operator_id", "city__province_id", "pushed")
            .distinct() if not terms(g[0], g[1], g[2]).deemed_confirmed]
    parts = _id_ranges(late, DEEM_BATCH)

    def deem(part):
        # (a range's 50,000 lines: the rollup triggers' aggregates spill with 4 MB)
        with transaction.atomic(), work_mem():
            return _deem_range(today, now, kept, *part)

    workers = workers_for(len(parts))
    deemed = sum(in_workers(deem, parts, workers) if workers > 1 else map(deem, parts))
    overdue = Dispute.objects.filter(status__in=Dispute.OPEN_STATES, due__lt=today,
                                     overdue=False).update(overdue=True)
    stats.refresh()
    return DeadlineResult(deemed, overdue)


DEEM_BATCH = 50_000    # lines per transaction (and per parallel part)


def _late(today: date):
    """Lines the deadline may deem: pushed and past their confirm-by date, with the push
    date the agreement is read at (today for a line without one, as ``Agreements`` takes)."""
    return LineQuerySet(model=Line).filter(status__in=DEEMABLE, confirm_due__lt=today) \
        .annotate(pushed=Coalesce("push_date", Value(today)))


def _id_ranges(qs, size: int) -> list[tuple[int, int | None]]:
    """``qs`` split by id into ranges of about ``size`` rows: [(first id, next range's first
    id or None)], found by the database (no list of every id in Python)."""
    sql, params = qs.order_by().values(i=F("pk")).query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(f"SELECT i FROM (SELECT s.i, ROW_NUMBER() OVER (ORDER BY s.i) AS rn "
                    f"FROM ({sql}) s) t WHERE (rn - 1) %% {int(size)} = 0 ORDER BY i", params)
        starts = [r[0] for r in cur.fetchall()]
    return list(zip(starts, [*starts[1:], None], strict=True)) if starts else []


def _sql(qs) -> tuple[str, list]:
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


def _deem_range(today: date, now, kept, first: int, stop: int | None) -> int:
    """Deem the late lines with ``first`` <= id < ``stop``, inside the caller's transaction:
    what ``_confirm`` does for a deemed line, as statements over a temporary table."""
    L, E, J, A = (Line._meta.db_table, JournalEntry._meta.db_table,
                  JournalLine._meta.db_table, AuditEntry._meta.db_table)
    pg = connection.vendor == "postgresql"
    late = _late(today).filter(pk__gte=first)
    if stop is not None:
        late = late.filter(pk__lt=stop)
    late = late.order_by("pk").select_for_update(of=("self",)).values_list(
        "pk", "receivable", "site_id", "operator_id", "city__province_id", "pushed",
        "confirm_due")
    select, params = _sql(late)
    with connection.cursor() as cur:
        for ddl in _DEEM_TABLES:
            cur.execute(ddl)
        cur.execute("DELETE FROM tl_deem")
        cur.execute("DELETE FROM tl_deem_day")
        cur.execute("INSERT INTO tl_deem (id, receivable, site_id, operator_id, province_id, "
                    f"pushed, due) {select}", params)
        for part in chunked(kept, 300):   # groups whose agreement does not deem
            cur.execute("DELETE FROM tl_deem WHERE (operator_id, province_id, pushed) IN ("
                        f"VALUES {', '.join(['(%s, %s, %s)'] * len(part))})",
                        [v for g in part for v in g])
        cur.execute("SELECT COUNT(*), MIN(receivable) FROM tl_deem")
        n, least = cur.fetchone()
        if not n:
            return 0
        if least is not None and Decimal(str(least)) < 0:   # as check_balanced refuses it
            raise Unbalanced(f"bad amount {least} on RECEIVABLE")
        # deemed confirmed the day after its deadline (never later than now); its entry
        # dated that day, or the first open day when that month is closed (post_entries)
        cur.execute("SELECT DISTINCT due FROM tl_deem")
        opened = open_period_start()
        days = []
        for (due,) in cur.fetchall():
            due = due if isinstance(due, date) else date.fromisoformat(due)
            day = due + timedelta(days=1)
            at = min(now, timezone.make_aware(datetime.combine(day, time.min)))
            days.append((due, connection.ops.adapt_datetimefield_value(at),
                         max(day, opened) if opened else day))
        cur.executemany("INSERT INTO tl_deem_day (due, at, entry_date) VALUES (%s, %s, %s)",
                        days)
        cur.execute(f"UPDATE {L} SET status = %s, confirmed_at = d.at, confirmed_by_id = NULL, "
                    f"deemed = %s FROM tl_deem t JOIN tl_deem_day d ON d.due = t.due "
                    f"WHERE {L}.id = t.id", [Line.Status.CONFIRMED, True])
        # one entry per line with an amount, never twice (a retry finds it posted)
        cur.execute(f"UPDATE tl_deem SET posted = %s WHERE EXISTS (SELECT 1 FROM {E} e "
                    f"WHERE e.kind = 'CONFIRM' AND e.reference = 'L' || tl_deem.id)", [True])
        stamp = connection.ops.adapt_datetimefield_value(now)
        cur.execute(f"INSERT INTO {E} (date, kind, reference, memo, created_at, created_by_id) "
                    f"SELECT d.entry_date, 'CONFIRM', 'L' || t.id, '确认 L' || t.id, %s, NULL "
                    f"FROM tl_deem t JOIN tl_deem_day d ON d.due = t.due "
                    f"WHERE t.receivable <> 0 AND NOT t.posted", [stamp])
        cur.execute(f"INSERT INTO {J} (entry_id, account, site_id, operator_id, debit, credit) "
                    f"SELECT e.id, a.account, t.site_id, t.operator_id, "
                    f"CASE WHEN a.dr = 1 THEN t.receivable ELSE 0 END, "
                    f"CASE WHEN a.dr = 1 THEN 0 ELSE t.receivable END "
                    f"FROM tl_deem t JOIN {E} e ON e.kind = 'CONFIRM' "
                    f"AND e.reference = 'L' || t.id "
                    f"CROSS JOIN (SELECT 'RECEIVABLE' AS account, 1 AS dr UNION ALL "
                    f"SELECT 'UNCONFIRMED', 0) a WHERE t.receivable <> 0 AND NOT t.posted")
        after = ("jsonb_build_object('status', 'CONFIRMED', 'receivable', t.receivable::text)"
                 if pg else "json_object('status', 'CONFIRMED', 'receivable', "
                            "printf('%%.2f', t.receivable))")
        cur.execute(f"INSERT INTO {A} (at, user_id, action, object_type, object_key, before, "
                    f"after, reason) SELECT %s, NULL, 'deemed_confirm', 'line', 'L' || t.id, "
                    f"{'CAST(%s AS jsonb)' if pg else '%s'}, {after}, %s FROM tl_deem t",
                    [stamp, '{"status": "PUSHED"}', "逾期视同确认 deemed"])
    return n


# per connection (each parallel worker has its own), emptied at the start of every range
_DEEM_TABLES = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS tl_deem (id bigint PRIMARY KEY, "
    "receivable numeric(16, 2), site_id bigint, operator_id bigint, province_id bigint, "
    "pushed date, due date, posted boolean NOT NULL DEFAULT FALSE)",
    "CREATE TEMPORARY TABLE IF NOT EXISTS tl_deem_day (due date PRIMARY KEY, "
    "at timestamp with time zone, entry_date date)",
)


# ---- idempotency (API) ------------------------------------------------------------------

def once(user, key: str | None, endpoint: str, work):
    """Run ``work()`` once per (user, Idempotency-Key): a retry returns the stored answer.

    The key is claimed before the work, in the work's transaction. A concurrent request with
    the same key waits on that claim (PostgreSQL's unique index; SQLite's one writer) until
    the first commits, then meets the unique violation and replays the first answer — both
    callers get it. If the first fails, its claim rolls back with it and the waiting request
    does the work itself; a request that fails spends no key."""
    if not key:
        return work()
    key = key[:100]
    found = IdempotencyKey.objects.filter(user=user, key=key).first()
    if found:
        return _replay(found, endpoint)
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: a violation leaves the outer usable
                claim = IdempotencyKey.objects.create(user=user, key=key, endpoint=endpoint,
                                                      response={})
        except IntegrityError:  # the first request committed while we waited: its answer
            return _replay(IdempotencyKey.objects.get(user=user, key=key), endpoint)
        claim.response = work()
        claim.save(update_fields=["response"])
    return claim.response


def _replay(found, endpoint: str):
    if found.endpoint != endpoint:
        raise SettlementError("该幂等键已用于其他请求", "this Idempotency-Key was used for "
                              "another request", "invalid")
    return found.response
