"""对账单、回款、核销: statements, receipts, matching and write-off.

Money moves as balanced entries:
  receipt     Dr CASH / Cr UNAPPLIED (operator)                         kind RECEIPT
  write-off   Dr UNAPPLIED / Cr RECEIVABLE (operator)                    kind WRITE_OFF
              (per receipt matched by hand; per operator for a run of automatic matching)
  unmatch     Dr RECEIVABLE / Cr UNAPPLIED (operator)                    kind UNMATCH
so UNAPPLIED always holds what receipts have not (yet) paid off: over-payments (预收)
stay there, visible on the operator, until matched. The line-by-line (and so site by
site) detail of a write-off is its applications (核销明细); what is written off of a line
is the sum of its live applications (``Line.objects`` derives it), never a stored copy.

Automatic matching, each application with its stated reason, in this order:
  1. a statement or invoice number in the receipt's reference: that statement's lines;
  2. the receipt's amount equals the outstanding of exactly one open statement of the
     operator (and city): that statement;
  3. where the province enables it, the operator's oldest open lines in the city.
Only confirmed lines are receivable; a line is never written off beyond its receivable
and an application is never made twice (it is undone by an unmatch, not edited).
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from towerledger.access.audit import record, record_many
from towerledger.access.models import AuditEntry, Role
from towerledger.access.scope import role_of, scoped
from towerledger.collection.models import MatchSetting, Receipt, Statement
from towerledger.db import stats
from towerledger.db.bulk import (
    NEXT_IDS,
    bulk_set,
    chunked,
    copy_insert,
    parts,
    pg_array,
    work_mem,
)
from towerledger.domain import ageing as ageing_rule
from towerledger.domain.errors import DomainError
from towerledger.domain.journal import Posting
from towerledger.domain.months import next_month
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.ledger.services import open_period_start, post_entries
from towerledger.org.models import City, Operator
from towerledger.settlement import receivables
from towerledger.settlement.models import Application, Line, LineQuerySet, live_applied
from towerledger.settlement.receivables import fen as q

ZERO = Decimal("0.00")


class CollectionError(DomainError):
    """A collection service's refusal: ``CollectionError(zh, en, code)``, code an ``ErrorCode``
    (default invalid)."""


def _staff(user):
    if user is not None and role_of(user) not in (Role.PROVINCE_ADMIN, Role.CITY_CLERK):
        raise CollectionError("无权操作", "you may not do this", "forbidden")


# ---- statements -------------------------------------------------------------------------

def statement_lines(month: date):
    """Confirmed lines not yet on a statement, confirmed by the end of ``month``."""
    end = timezone.make_aware(datetime.combine(next_month(month), time.min))
    return Line.objects.unstated().filter(operator__isnull=False, confirmed_at__lt=end)


def issue_statements(month: date, user=None, operator: str | None = None,
                     by_city: bool = True) -> list[Statement]:
    """Issue the month's statements (per operator and city, or per operator for the whole
    province when ``by_city`` is False). A confirmed line goes on exactly one statement;
    lines confirmed after a statement was issued go on the next one.

    Set-wise (issue 18), in one transaction: the lines are locked and copied (with what a
    correction's chain already stated) into a temporary table, the statements' totals are
    one GROUP BY over it, and one UPDATE puts every line on its statement."""
    _staff(user)
    month = month.replace(day=1)
    qs = scoped(user, statement_lines(month))
    if operator:
        qs = qs.filter(operator__code=operator)
    # a correction of a chain already on a statement (that statement never changes) counts
    # here as its difference: the new version less the chain's latest stated version
    # (settlement.corrections); an original, or a chain never stated, counts in full
    was = {f"was_{f}": Case(When(root__isnull=True, then=Value(ZERO)),
                            default=_stated_before(f), output_field=Line._meta.get_field(f))
           for f in ("cost_share", "tax_amount", "receivable")}
    rows = qs.order_by("pk").select_for_update(of=("self",)).values(
        i=F("pk"), o=F("operator_id"), p=F("city__province_id"),
        c=F("city_id") if by_city else Value(0), m=F("mode"), cs=F("cost_share"),
        ta=F("tax_amount"), re=F("receivable"), **was)
    issued = []
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_STATEMENT_TABLES[0])
        cur.execute(_STATEMENT_TABLES[1])
        cur.execute("DELETE FROM tl_stmt")
        cur.execute("DELETE FROM tl_stmt_of")
        sql, params = rows.query.sql_with_params()
        cur.execute("INSERT INTO tl_stmt (id, operator_id, province_id, city_key, mode, "
                    "cost_share, tax_amount, receivable, was_cost_share, was_tax_amount, "
                    f"was_receivable) {sql}", params)
        cur.execute("SELECT operator_id, province_id, city_key, mode, COUNT(*), "
                    "SUM(cost_share), SUM(tax_amount), SUM(receivable), SUM(was_cost_share), "
                    "SUM(was_tax_amount), SUM(was_receivable) FROM tl_stmt "
                    "GROUP BY operator_id, province_id, city_key, mode "
                    "ORDER BY operator_id, province_id, city_key, mode")
        groups = defaultdict(dict)
        for op, prov, city, mode, n, cost, tax, rec, w_cost, w_tax, w_rec in cur.fetchall():
            groups[op, prov, city][mode] = {   # q(): SQLite sums decimals as floats
                "lines": n, "cost_share": str(q(cost) - q(w_cost)),
                "tax_amount": str(q(tax) - q(w_tax)), "receivable": str(q(rec) - q(w_rec))}
        for (op, prov, city), by_mode in groups.items():
            st = _issue(month, op, city or None, prov, by_mode, user)
            cur.execute("INSERT INTO tl_stmt_of (operator_id, province_id, city_key, "
                        "statement_id) VALUES (%s, %s, %s, %s)", [op, prov, city, st.pk])
            issued.append(st)
        cur.execute(f"UPDATE {Line._meta.db_table} SET statement_id = g.statement_id "
                    "FROM tl_stmt t JOIN tl_stmt_of g ON g.operator_id = t.operator_id "
                    "AND g.province_id = t.province_id AND g.city_key = t.city_key "
                    f"WHERE {Line._meta.db_table}.id = t.id")
    stats.refresh()
    return issued


# per connection, emptied at the start of every run
_STATEMENT_TABLES = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS tl_stmt (id bigint PRIMARY KEY, operator_id bigint, "
    "province_id bigint, city_key bigint, mode varchar(20), cost_share numeric(16, 2), "
    "tax_amount numeric(16, 2), receivable numeric(16, 2), was_cost_share numeric(16, 2), "
    "was_tax_amount numeric(16, 2), was_receivable numeric(16, 2))",
    "CREATE TEMPORARY TABLE IF NOT EXISTS tl_stmt_of (operator_id bigint, province_id bigint, "
    "city_key bigint, statement_id bigint)",
)


def _number(month: date, operator_id, city_id) -> str:
    code = Operator.objects.get(pk=operator_id).code
    prefix = f"DZ{month:%Y%m}-{code}-{city_id or 0:02d}-"
    seq = Statement.objects.filter(number__startswith=prefix).count() + 1
    return f"{prefix}{seq:02d}"


def _issue(month, operator_id, city_id, province_id, by_mode, user) -> Statement:
    """One statement of the totals ``by_mode`` ({mode: {lines, cost_share, tax_amount,
    receivable}}); the caller puts its lines on it."""
    st = Statement.objects.create(
        number=_number(month, operator_id, city_id), operator_id=operator_id, city_id=city_id,
        province_id=province_id, month=month,
        lines_count=sum(v["lines"] for v in by_mode.values()),
        cost_share=sum((Decimal(v["cost_share"]) for v in by_mode.values()), ZERO),
        tax_amount=sum((Decimal(v["tax_amount"]) for v in by_mode.values()), ZERO),
        receivable=sum((Decimal(v["receivable"]) for v in by_mode.values()), ZERO),
        by_mode=by_mode, issued_by=user if getattr(user, "pk", None) else None)
    record(user, "issue", "statement", st.number, None,
           {"lines": st.lines_count, "receivable": st.receivable}, "对账单 statement")
    return st


def _stated_before(field: str):
    """``field`` of the latest earlier version of a line's chain that is on a statement
    (0 when none is)."""
    earlier = LineQuerySet(model=Line).filter(Q(root_id=OuterRef("root_id")) |
                                              Q(pk=OuterRef("root_id")),
                                  pk__lt=OuterRef("pk"), statement__isnull=False) \
        .order_by("-pk").values(field)[:1]
    return Coalesce(Subquery(earlier), Value(ZERO), output_field=Line._meta.get_field(field))


def confirm_statement(statement_id, user) -> Statement:
    """The operator confirms its statement electronically; it never changes afterwards."""
    if role_of(user) != Role.OPERATOR:
        raise CollectionError("只有运营商确认对账单", "only the operator confirms its statement",
                              "forbidden")
    with transaction.atomic():
        st = scoped_statements(user).select_for_update().filter(pk=statement_id).first()
        if st is None:
            raise CollectionError("对账单不存在", "no such statement", "not_found")
        if st.status != Statement.Status.ISSUED:
            raise CollectionError(f"对账单状态为 {st.get_status_display()}，不能确认",
                                  f"the statement is {st.status}", "conflict")
        st.status, st.confirmed_at, st.confirmed_by = (Statement.Status.CONFIRMED,
                                                       timezone.now(), user)
        st.save(update_fields=["status", "confirmed_at", "confirmed_by"])
        record(user, "confirm", "statement", st.number, {"status": "ISSUED"},
               {"status": "CONFIRMED"}, "电子确认 confirmed electronically")
    return st


def withdraw_statement(statement_id, user, reason: str) -> Statement:
    """Withdraw an issued (not yet confirmed) statement; its lines return to the pool."""
    _staff(user)
    if not reason.strip():
        raise CollectionError("请填写原因", "a reason is required")
    with transaction.atomic():
        st = scoped_statements(user).select_for_update().filter(pk=statement_id).first()
        if st is None:
            raise CollectionError("对账单不存在", "no such statement", "not_found")
        if st.status != Statement.Status.ISSUED:
            raise CollectionError("已确认的对账单不能撤回；更正计入下期",
                                  "a confirmed statement cannot change; correct it on the "
                                  "next one", "conflict")
        Line.objects.filter(statement=st).update(statement=None)
        st.status = Statement.Status.VOID
        st.save(update_fields=["status"])
        record(user, "withdraw", "statement", st.number, {"status": "ISSUED"},
               {"status": "VOID"}, reason)
    return st


def record_invoice(statement_id, user, invoice_no: str, invoice_date: date,
                   amount: Decimal) -> Statement:
    """The tower side records the invoice (开票) it issued for a confirmed statement."""
    _staff(user)
    if not invoice_no.strip():
        raise CollectionError("请填写发票号", "the invoice number is required")
    if invoice_date > timezone.localdate():
        raise CollectionError("开票日期不能晚于今天", "the invoice date cannot be in the future")
    with transaction.atomic():
        st = scoped_statements(user).select_for_update().filter(pk=statement_id).first()
        if st is None:
            raise CollectionError("对账单不存在", "no such statement", "not_found")
        if st.status != Statement.Status.CONFIRMED:
            raise CollectionError("对账单确认后才能开票", "invoice a confirmed statement only",
                                  "conflict")
        if st.invoice_no:
            raise CollectionError(f"已登记发票 {st.invoice_no}",
                                  f"invoice {st.invoice_no} is already recorded", "conflict")
        st.invoice_no, st.invoice_date, st.invoice_amount = invoice_no.strip(), invoice_date, \
            amount
        st.save(update_fields=["invoice_no", "invoice_date", "invoice_amount"])
        record(user, "invoice", "statement", st.number, None,
               {"invoice_no": st.invoice_no, "amount": amount}, "开票 invoice")
    return st


def scoped_statements(user):
    """Statements the user may see: operators their own (and their city's), clerks their
    city's (and none of the province-level ones), admins and viewers all."""
    return scoped(user, Statement.objects.all())


def scoped_receipts(user):
    """Receipts the user may see, by the same rule as statements."""
    return scoped(user, Receipt.objects.all())


# ---- receipts ---------------------------------------------------------------------------

def post_receipts(receipts: list[Receipt], user=None):
    """Dr CASH / Cr UNAPPLIED for each new receipt (once per receipt_no)."""
    ops = {r.operator_id for r in receipts}
    codes = dict(Operator.objects.filter(pk__in=ops).values_list("pk", "code"))
    entries = [(r.received_date, "RECEIPT", r.receipt_no, f"回款 {r.receipt_no}", [
        Posting("CASH", debit=r.amount),
        Posting("UNAPPLIED", credit=r.amount, operator=codes[r.operator_id])])
        for r in receipts if r.amount]
    post_entries(entries, user, operator_ids={v: k for k, v in codes.items()})


def post_new_receipts(ids: list[int], user=None) -> int:
    """``post_receipts`` of the stored receipts ``ids``, set-wise: one ``INSERT … SELECT``
    of their entries (Dr CASH / Cr UNAPPLIED, each balanced by construction: one amount on
    both sides, never negative — the import refuses a negative amount) and one of their
    lines, per batch of ids, instead of a Python object per posting. As ``post_entries``:
    a receipt already posted (kind RECEIPT, its number) is skipped, a zero amount posts
    nothing, and a receipt dated in a closed month is posted on the first open day.
    Returns the entries posted."""
    if not ids:
        return 0
    opened = open_period_start()
    uid = user.pk if getattr(user, "pk", None) else None
    entry, jline = JournalEntry._meta.db_table, JournalLine._meta.db_table
    receipt = Receipt._meta.db_table
    day = "CASE WHEN r.received_date < %s THEN %s ELSE r.received_date END" if opened \
        else "r.received_date"
    posted = 0
    ops = connection.ops   # values as the ORM writes them (SQLite keeps datetimes as text)
    when = ops.adapt_datefield_value(opened) if opened else None
    now = ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cur:
        for part in parts(ids):
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {entry}")
            before = cur.fetchone()[0]
            where, param = _in("r.id", part)
            cur.execute(
                f"INSERT INTO {entry} (date, kind, reference, memo, created_at, created_by_id) "
                f"SELECT {day}, 'RECEIPT', r.receipt_no, "
                "SUBSTR('回款 ' || r.receipt_no, 1, 200), %s, %s "
                f"FROM {receipt} r WHERE {where} AND r.amount <> 0 AND NOT EXISTS ("
                f"SELECT 1 FROM {entry} e WHERE e.kind = 'RECEIPT' "
                "AND e.reference = r.receipt_no) ORDER BY r.id",
                [*([when, when] if opened else []), now, uid, *param])
            posted += cur.rowcount
            cur.execute(
                f"INSERT INTO {jline} (entry_id, account, site_id, operator_id, debit, credit) "
                "SELECT e.id, k.account, NULL, CASE WHEN k.n = 1 THEN r.operator_id END, "
                "CASE WHEN k.n = 0 THEN r.amount ELSE 0 END, "
                "CASE WHEN k.n = 1 THEN r.amount ELSE 0 END "
                f"FROM {receipt} r JOIN {entry} e ON e.kind = 'RECEIPT' "
                "AND e.reference = r.receipt_no "
                "CROSS JOIN (SELECT 0 AS n, 'CASH' AS account UNION ALL "
                "SELECT 1, 'UNAPPLIED') k "
                f"WHERE {where} AND e.id > %s ORDER BY e.id, k.n", [*param, before])
    return posted


def _in(column: str, values: list) -> tuple[str, list]:
    """``column`` is one of ``values``: one array parameter on PostgreSQL, a list of
    placeholders elsewhere (``values`` a ``parts`` chunk)."""
    if connection.vendor == "postgresql":
        array, param = pg_array(list(values))
        return f"{column} = ANY({array})", [param]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


# ---- matching -----------------------------------------------------------------------------

@dataclass
class MatchResult:
    applications: int = 0
    applied: Decimal = ZERO
    by_rule: dict = field(default_factory=lambda: defaultdict(int))
    unmatched: list = field(default_factory=list)   # receipt numbers left without a match


SET_WISE = True   # tests compare _write_pg (PostgreSQL) with the Python _write

TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{4,}")


def _open_lines(**filters):
    """Confirmed lines with something left to write off, oldest push first."""
    return Line.objects.open().filter(operator__isnull=False, **filters).filter(
        receivable__gt=F("written_off")).order_by("push_date", "pk")


def statement_paid():
    """What receipts have written off of each statement's lines (its live applications),
    as an expression to annotate statements with."""
    return live_applied(line__statement=OuterRef("pk"))


def auto_match(receipt_ids=None, user=None, today: date | None = None,
               progress=None) -> MatchResult:
    """Match receipts with something unapplied, by the rules above, oldest receipt first.

    Set-wise: the receipts, the statements they may name, every open statement's
    outstanding and the open lines are read once; the matching runs in memory, tracking
    what each line and statement has left, so nothing is applied twice within the run;
    then applications, receipts' totals, one voucher per operator and one audit entry per
    receipt are written in bulk. Matching runs one at a time (a lock), so two runs never race for the
    same line. ``progress(stage, done, total)`` hears how far it is."""
    _staff(user)
    today = today or timezone.localdate()
    result = MatchResult()
    with transaction.atomic():
        _serialise_matching()
        # a clerk's run (page or CLI --user) matches their receipts to their lines only
        qs = scoped(user, Receipt.objects.exclude(status=Receipt.Status.APPLIED))
        if receipt_ids is not None:
            qs = qs.filter(pk__in=list(receipt_ids))
        receipts = [_Receipt(*row) for row in qs.order_by("received_date", "pk").values_list(
            "pk", "receipt_no", "operator_id", "city_id", "amount", "applied", "reference",
            "status").iterator(chunk_size=20000)]
        if not receipts:
            return result
        book = _OpenBook.load(receipts, user)
        plans = []
        for i, r in enumerate(receipts, 1):
            plan = book.match(r)
            if plan is None:
                result.unmatched.append(r.receipt_no)
            else:
                plans.append(plan)
                result.by_rule[plan.rule] += 1
                result.applications += len(plan.parts)
                result.applied += plan.total
            if progress and i % 1000 == 0:
                progress("matching", i, len(receipts))
        if progress:
            progress("writing", len(receipts), len(receipts))
        set_wise = SET_WISE and connection.vendor == "postgresql"
        # (the rollup triggers' sort and hash aggregate over the run's applications spilled
        # to disk with the default 4 MB)
        with work_mem():
            (_write_pg if set_wise else _write)(plans, book, user, today)
    stats.refresh()
    return result


@dataclass(slots=True)
class _Receipt:
    """What matching reads and changes of a receipt (a model instance per receipt is ten
    times the memory and time for a province's month of receipts)."""
    pk: int
    receipt_no: str
    operator_id: int
    city_id: int | None
    amount: Decimal
    applied: Decimal
    reference: str
    status: str


def _statements_by_reference(receipts) -> dict[str, Statement]:
    """Statements whose number or invoice number appears in some receipt's reference."""
    tokens = {t for r in receipts for t in TOKEN.findall(r.reference or "")}
    found = {}
    for part in chunked(list(tokens)):
        for st in Statement.objects.exclude(status=Statement.Status.VOID).filter(
                Q(number__in=part) | Q(invoice_no__in=part)):
            found[st.number] = st
            if st.invoice_no:
                found[st.invoice_no] = st
    return found


def _serialise_matching():
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('towerledger.matching'))")


@dataclass
class _Plan:
    receipt: Receipt
    rule: str
    reason: str
    parts: list            # [(line pk, amount)]
    total: Decimal = ZERO


class _OpenBook:
    """What is open to be matched, in memory: lines' and statements' outstanding, in fen."""

    @classmethod
    def load(cls, receipts, user=None) -> "_OpenBook":
        self = cls()
        self.refs = _statements_by_reference(receipts)
        operators = {r.operator_id for r in receipts}
        self.oldest = set(MatchSetting.objects.filter(oldest_first=True)
                          .values_list("province_id", flat=True))
        self.left = {}                         # line pk -> outstanding
        self.statement_of = {}                 # line pk -> statement pk (or None)
        self.by_statement = defaultdict(list)  # statement pk -> [line pk] oldest first
        self.by_city = defaultdict(list)       # (operator, city) -> [line pk] oldest first
        self.operator_codes = dict(Operator.objects.filter(pk__in=operators)
                                   .values_list("pk", "code"))
        self.province_of = dict(City.objects.values_list("pk", "province_id"))
        rows = scoped(user, Line.objects.open()).filter(
            operator_id__in=operators, receivable__gt=F("written_off")).order_by(
            "push_date", "pk").values_list("pk", "operator_id", "city_id", "statement_id",
                                           "receivable", "written_off")
        for pk, op, city, st, rec, off in rows.iterator(chunk_size=20000):
            self.left[pk] = _fen(rec - off)
            self.statement_of[pk] = st
            if st:
                self.by_statement[st].append(pk)
            self.by_city[op, city].append(pk)
        self.statement_left = defaultdict(int)
        for pk in self.left:
            st = self.statement_of[pk]
            if st:
                self.statement_left[st] += self.left[pk]
        self.statements = {s.pk: s for s in Statement.objects.filter(
            pk__in=list(self.statement_left)).exclude(status=Statement.Status.VOID)}
        # open statements by outstanding: (operator, city, amount) and (operator, amount)
        self.by_amount = defaultdict(set)
        for st in self.statements.values():
            self._index(st.pk, add=True)
        self.cursor = defaultdict(int)         # list key -> first index maybe still open
        return self

    def _index(self, st, add: bool):
        s, amount = self.statements[st], self.statement_left[st]
        for key in ((s.operator_id, s.city_id, amount), (s.operator_id, amount)):
            if add:
                self.by_amount[key].add(st)
            else:
                self.by_amount[key].discard(st)

    def _take(self, key, pks, amount):
        """Consume up to ``amount`` from the lines ``pks`` in order; [(pk, amount)]. The
        statements touched are re-indexed by their new outstanding once, at the end."""
        parts, i = [], self.cursor[key]
        left, statement_of, statement_left = self.left, self.statement_of, self.statement_left
        touched = set()
        while amount > 0 and i < len(pks):
            pk = pks[i]
            have = left[pk]
            if have <= 0:
                i += 1
                continue
            use = min(have, amount)
            parts.append((pk, use))
            left[pk] = have - use
            st = statement_of[pk]
            if st in self.statements:
                if st not in touched:
                    touched.add(st)
                    self._index(st, add=False)
                statement_left[st] -= use
            amount -= use
            if have <= use:
                i += 1
        self.cursor[key] = i
        for st in touched:
            self._index(st, add=True)
        return parts

    def match(self, r: Receipt) -> _Plan | None:
        left = _fen(r.amount - r.applied)
        if left <= 0:
            return None
        for token in TOKEN.findall(r.reference or ""):
            st = self.refs.get(token)
            if st and st.operator_id == r.operator_id and st.pk in self.statements and (
                    st.city_id is None or r.city_id in (None, st.city_id)):
                return self._plan(r, Application.Rule.REFERENCE,
                                  f"参考号含 {token} reference names {st.number}",
                                  ("st", st.pk), self.by_statement[st.pk], left)
        exact = self.by_amount.get((r.operator_id, r.city_id, left) if r.city_id else
                                   (r.operator_id, left), ())
        if len(exact) == 1:
            st = self.statements[next(iter(exact))]
            return self._plan(r, Application.Rule.AMOUNT,
                              f"金额等于对账单 {st.number} 未核销额 amount equals its "
                              "outstanding", ("st", st.pk), self.by_statement[st.pk], left)
        if r.city_id and self.province_of.get(r.city_id) in self.oldest:
            key = (r.operator_id, r.city_id)
            return self._plan(r, Application.Rule.OLDEST, "按账龄从早到晚 oldest first",
                              ("city", key), self.by_city[key], left)
        return None

    def _plan(self, r, rule, reason, key, pks, left) -> _Plan | None:
        parts = [(pk, _yuan(fen)) for pk, fen in self._take(key, pks, left)]
        if not parts:
            return None
        return _Plan(r, rule, reason, parts, sum((a for _, a in parts), ZERO))


def _fen(amount: Decimal) -> int:
    """An amount of the database's (two places) in fen: the open book counts in ints, a
    third of the memory and time of Decimals for a province's lines."""
    return int(amount.scaleb(2))


def _yuan(fen: int) -> Decimal:
    """Fen back to yuan with two places, as the database's amounts (Decimal('12.30'))."""
    return Decimal(fen).scaleb(-2)


def _write_off_entry(day: date, reference: str, memo: str, total: Decimal,
                     operator_code: str):
    """A write-off voucher: Dr UNAPPLIED / Cr RECEIVABLE, both for the operator. Which
    lines (and so which sites) it paid are its applications (核销明细), which `towerledger
    check` ties to the journal."""
    return (day, "WRITE_OFF", reference, memo, [
        Posting("RECEIVABLE", credit=total, operator=operator_code),
        Posting("UNAPPLIED", debit=total, operator=operator_code)])


def _write(plans: list[_Plan], book: _OpenBook, user, today):
    """Applications, receipts' totals, one voucher per operator and one audit entry per
    receipt, in bulk. The lines are not written: what is written off of a line is its live
    applications.

    A run's vouchers are batch vouchers (批量核销凭证), as ERPs post automatic clearing:
    per operator, Dr UNAPPLIED / Cr RECEIVABLE for everything the run applied, referenced
    by the run's range of application numbers, which each receipt's audit entry names —
    100,000 receipts are a handful of entries, not 100,000."""
    if not plans:
        return
    uid = user.pk if getattr(user, "pk", None) else None
    apps = []
    for p in plans:
        reason, rule, rid = p.reason[:200], p.rule, p.receipt.pk
        apps += [{"receipt_id": rid, "line_id": pk, "statement_id": book.statement_of[pk],
                  "amount": amount, "rule": rule, "reason": reason, "created_by_id": uid}
                 for pk, amount in p.parts]
    ids = copy_insert(Application, apps)
    run = f"A{ids[0]}-{ids[-1]}"
    codes = book.operator_codes
    totals, log = defaultdict(lambda: ZERO), []
    for p in plans:
        r = p.receipt
        totals[r.operator_id] += p.total
        # one audit row per receipt naming every line it paid (not one per line: a
        # province's month is ~400,000 applications); flat, so it is logged as it is
        log.append((r.receipt_no, {"applied": str(r.applied)}, {
            "rule": p.rule, "amount": str(p.total), "voucher": run,
            "lines": " ".join(f"L{pk}:{amount}" for pk, amount in p.parts)}))
        r.applied += p.total
        r.status = Receipt.Status.APPLIED if r.applied == r.amount else Receipt.Status.PARTIAL
    bulk_set(Receipt, [{"pk": p.receipt.pk, "applied": p.receipt.applied,
                        "status": p.receipt.status} for p in plans], ["applied", "status"])
    receipts = Counter(p.receipt.operator_id for p in plans)
    post_entries([_write_off_entry(
        today, f"{run}:{codes[op]}", f"自动核销 {receipts[op]} 笔回款 {codes[op]} automatic "
        "matching", total, codes[op]) for op, total in sorted(totals.items())], user,
        operator_ids={v: k for k, v in codes.items()})
    record_many(user, "write_off", "receipt", log, "自动核销 automatic matching")


# per connection, emptied at the start of every run (matching may run more than once in
# one transaction: an import stores and matches its receipts part by part)
_MATCH_TABLES = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS tl_match_r (receipt_id bigint PRIMARY KEY, "
    "seq integer, receipt_no varchar(60), rule varchar(10), reason varchar(200), "
    "total numeric(16, 2), was numeric(16, 2), applied numeric(16, 2), status varchar(10))",
    "CREATE TEMPORARY TABLE IF NOT EXISTS tl_match_a (id bigint, receipt_id bigint, "
    "line_id bigint, statement_id bigint, amount numeric(16, 2))",
)


def _write_pg(plans: list[_Plan], book: _OpenBook, user, today):
    """``_write`` on PostgreSQL, set-wise: the plans go by COPY into two temporary tables
    (one row per receipt, one per application, the applications' ids taken from the
    table's sequence first so the run's range is known), then one INSERT … SELECT writes
    the applications, one UPDATE the receipts' totals and one INSERT … SELECT the audit
    entries (the same JSON as ``_write``: amounts as their numeric text) — no Python
    object per application or per audit entry. The vouchers, a handful, are posted as in
    ``_write``."""
    if not plans:
        return
    uid = user.pk if getattr(user, "pk", None) else None
    now = timezone.now()
    app, receipt = Application._meta.db_table, Receipt._meta.db_table
    audit = AuditEntry._meta.db_table
    codes = book.operator_codes
    totals, counts = defaultdict(lambda: ZERO), Counter()
    with connection.cursor() as cur:
        for sql in _MATCH_TABLES:
            cur.execute(sql)
        cur.execute("DELETE FROM tl_match_r")
        cur.execute("DELETE FROM tl_match_a")
        n = sum(len(p.parts) for p in plans)
        cur.execute(NEXT_IDS, [app, "id", n])
        ids = sorted(r[0] for r in cur.fetchall())
        run = f"A{ids[0]}-{ids[-1]}"
        statement_of = book.statement_of
        with cur.cursor.copy("COPY tl_match_a (id, receipt_id, line_id, statement_id, amount) "
                             "FROM STDIN") as copy:
            i = 0
            for p in plans:
                rid = p.receipt.pk
                for pk, amount in p.parts:
                    copy.write_row((ids[i], rid, pk, statement_of[pk], amount))
                    i += 1
        with cur.cursor.copy("COPY tl_match_r (receipt_id, seq, receipt_no, rule, reason, "
                             "total, was, applied, status) FROM STDIN") as copy:
            for seq, p in enumerate(plans):
                r = p.receipt
                was = r.applied
                r.applied += p.total
                r.status = (Receipt.Status.APPLIED if r.applied == r.amount else
                            Receipt.Status.PARTIAL)
                totals[r.operator_id] += p.total
                counts[r.operator_id] += 1
                copy.write_row((r.pk, seq, r.receipt_no, p.rule, p.reason[:200], p.total, was,
                                r.applied, r.status))
        cur.execute(f"INSERT INTO {app} (id, amount, rule, reason, created_at, "
                    "reversal_reason, created_by_id, line_id, receipt_id, statement_id) "
                    "SELECT a.id, a.amount, r.rule, r.reason, %s, '', %s, a.line_id, "
                    "a.receipt_id, a.statement_id FROM tl_match_a a "
                    "JOIN tl_match_r r ON r.receipt_id = a.receipt_id ORDER BY a.id",
                    [now, uid])
        cur.execute(f"UPDATE {receipt} c SET applied = r.applied, status = r.status "
                    "FROM tl_match_r r WHERE c.id = r.receipt_id")
        post_entries([_write_off_entry(
            today, f"{run}:{codes[op]}", f"自动核销 {counts[op]} 笔回款 {codes[op]} automatic "
            "matching", total, codes[op]) for op, total in sorted(totals.items())], user,
            operator_ids={v: k for k, v in codes.items()})
        # one audit row per receipt naming every line it paid, as ``_write``
        cur.execute(f"INSERT INTO {audit} (at, user_id, action, object_type, object_key, "
                    "before, after, reason) "
                    "SELECT %s, %s, 'write_off', 'receipt', LEFT(r.receipt_no, 120), "
                    "jsonb_build_object('applied', r.was::text), "
                    "jsonb_build_object('rule', r.rule, 'amount', r.total::text, "
                    "'voucher', %s::text, 'lines', g.lines), %s "
                    "FROM tl_match_r r JOIN (SELECT receipt_id, string_agg("
                    "'L' || line_id || ':' || amount::text, ' ' ORDER BY id) AS lines "
                    "FROM tl_match_a GROUP BY receipt_id) g ON g.receipt_id = r.receipt_id "
                    "ORDER BY r.seq", [now, uid, run, "自动核销 automatic matching"])


def _apply(r: Receipt, lines, left: Decimal, rule, reason, user, today):
    """Apply up to ``left`` of ``r`` to ``lines`` in order; post and record it."""
    apps = []
    total = ZERO
    for ln in lines:
        if left <= 0:
            break
        amount = min(ln.receivable - ln.written_off, left)
        if amount <= 0:
            continue
        apps.append(Application(receipt=r, line=ln, statement_id=ln.statement_id,
                                amount=amount, rule=rule, reason=reason[:200],
                                created_by=user if getattr(user, "pk", None) else None))
        left -= amount
        total += amount
    if not apps:
        return None
    Application.objects.bulk_create(apps)
    r.applied += total
    r.status = Receipt.Status.APPLIED if r.applied == r.amount else Receipt.Status.PARTIAL
    r.save(update_fields=["applied", "status"])
    n = Application.objects.filter(receipt=r).count()   # applications so far key it
    post_entries([_write_off_entry(today or timezone.localdate(), f"R{r.pk}:{n}",
                                   f"核销 {r.receipt_no}", total, r.operator.code)], user,
                 operator_ids={r.operator.code: r.operator_id})
    record_many(user, "write_off", "line", [(f"L{a.line_id}", None,
                                             {"receipt": r.receipt_no, "amount": a.amount,
                                              "rule": rule}) for a in apps], reason)
    return len(apps), total


def manual_match(receipt_id, line_ids, user, reason: str, today: date | None = None):
    """Apply a receipt to the chosen lines by hand (oldest push first), with a reason."""
    _staff(user)
    if not reason.strip():
        raise CollectionError("请填写核销原因", "a reason is required")
    with transaction.atomic():
        _serialise_matching()
        r = scoped_receipts(user).select_for_update().filter(pk=receipt_id) \
            .select_related("operator").first()
        if r is None:
            raise CollectionError("回款不存在", "no such receipt", "not_found")
        left = r.amount - r.applied
        if left <= 0:
            raise CollectionError("该回款已全部核销", "the receipt is fully applied", "conflict")
        lines = scoped(user, _open_lines(pk__in=list(line_ids), operator_id=r.operator_id))
        applied = _apply(r, lines.select_for_update(of=("self",)), left,
                         Application.Rule.MANUAL, reason, user, today)
        if not applied:
            raise CollectionError("所选明细均无未核销金额或不属于该运营商",
                                  "none of the lines is open for this operator", "conflict")
    return applied


def unmatch(application_ids, user, reason: str, today: date | None = None) -> int:
    """反核销: undo applications with a reason; the receipt's amount is unapplied again.
    ``today``: the day of the reversal (default today; the demo and tests replay history) —
    the journal entry and the applications' ``reversed_at`` both carry it, so "written off
    as of a day" reads the same from either."""
    _staff(user)
    if not reason.strip():
        raise CollectionError("请填写反核销原因", "a reason is required")
    now = timezone.now()
    if today and today != timezone.localdate():
        now = timezone.make_aware(datetime.combine(today, time(12)))
    with transaction.atomic():
        _serialise_matching()
        apps = list(Application.objects.filter(pk__in=list(application_ids),
                                               reversed_at__isnull=True)
                    .select_for_update(of=("self",))
                    .select_related("receipt__operator", "line__site", "line__operator"))
        visible = set(scoped(user, Line.objects.filter(pk__in=[a.line_id for a in apps]))
                      .values_list("pk", flat=True))
        apps = [a for a in apps if a.line_id in visible]
        entries = []
        for a in apps:
            # exact arithmetic here (SQLite would subtract as floats); the row is locked.
            # The line's written_off is the sum of its live applications: reversing the
            # application below is all the line needs.
            receipt = Receipt.objects.select_for_update().get(pk=a.receipt_id)
            Receipt.objects.filter(pk=a.receipt_id).update(applied=receipt.applied - a.amount)
            entries.append((today or timezone.localdate(), "UNMATCH", f"U{a.pk}",
                            f"反核销 {a.receipt.receipt_no}", [
                                Posting("RECEIVABLE", debit=a.amount,
                                        operator=a.line.operator.code),
                                Posting("UNAPPLIED", credit=a.amount,
                                        operator=a.receipt.operator.code)]))
        Application.objects.filter(pk__in=[a.pk for a in apps]).update(
            reversed_at=now, reversed_by=user, reversal_reason=reason[:200])
        for rid in {a.receipt_id for a in apps}:
            r = Receipt.objects.get(pk=rid)
            r.status = (Receipt.Status.UNMATCHED if not r.applied else
                        Receipt.Status.APPLIED if r.applied == r.amount else
                        Receipt.Status.PARTIAL)
            r.save(update_fields=["status"])
        post_entries(entries, user,
                     operator_ids={a.line.operator.code: a.line.operator_id for a in apps})
        record_many(user, "unmatch", "line", [(f"L{a.line_id}", {"receipt":
                                                                  a.receipt.receipt_no,
                                                                  "amount": a.amount}, None)
                                              for a in apps], reason)
    return len(apps)


def suggestions(receipt: Receipt, limit: int = 10) -> list[dict]:
    """Open statements of the receipt's operator ranked for a clerk: exact outstanding
    first, then by how close the outstanding is to what is left of the receipt."""
    left = receipt.amount - receipt.applied
    qs = Statement.objects.filter(operator_id=receipt.operator_id).exclude(
        status=Statement.Status.VOID)
    if receipt.city_id:
        qs = qs.filter(Q(city_id=receipt.city_id) | Q(city__isnull=True))
    rows = []
    for st in qs.annotate(left=F("receivable") - statement_paid()).filter(left__gt=0):
        named = st.number in (receipt.reference or "") or (
            st.invoice_no and st.invoice_no in (receipt.reference or ""))
        outstanding = q(st.left)
        rows.append({"statement": st, "outstanding": outstanding, "named": bool(named),
                     "exact": outstanding == left, "gap": abs(outstanding - left)})
    rows.sort(key=lambda x: (not x["named"], not x["exact"], x["gap"], x["statement"].month))
    return rows[:limit]


# ---- ageing -----------------------------------------------------------------------------

BUCKETS = tuple((lo, hi, f"{lo}-{hi}" if hi else f">{lo - 1}")
                for lo, hi in ageing_rule.BOUNDS)   # 0-30 … 181-365, >365
GROUPS = {"operator": ("operator__code",), "city": ("city__name",),
          "county": ("city__name", "site__county__name"), "site": ("site__site_code",)}


def ageing(user, by: str = "operator", as_of: date | None = None, **filters) -> list[dict]:
    """Outstanding receivable of every chain pushed by ``as_of`` (its amount as of the day
    less what was written off as of the day: ``settlement.receivables.outstanding``), by
    days since its original was pushed, grouped ``by`` operator, city, county or site;
    scoped. ``lines`` counts the chains that owe."""
    as_of = as_of or timezone.localdate()
    keys = GROUPS[by]
    owed = receivables.outstanding(as_of, by=keys,
                                   within=scoped(user, Line.objects.filter(**filters)))
    groups = {}
    for (*key, pushed), (amount, chains) in owed.items():
        g = groups.get(key := tuple(key))
        if g is None:
            g = groups[key] = {"key": " / ".join(str(v) for v in key), "total": ZERO,
                               "lines": 0, "buckets": {label: ZERO for *_, label in BUCKETS}}
        g["total"] += amount
        g["lines"] += chains
        g["buckets"][BUCKETS[ageing_rule.bucket((as_of - pushed).days)][2]] += amount
    return [groups[k] for k in sorted(groups, key=lambda k: tuple(str(v) for v in k))]


# ---- electronic reconciliation ----------------------------------------------------------

@dataclass
class Comparison:
    matched: list = field(default_factory=list)      # (key, ours, theirs)
    differs: list = field(default_factory=list)      # (key, ours, theirs)
    only_ours: list = field(default_factory=list)    # (key, ours)
    only_theirs: list = field(default_factory=list)  # (key, theirs)

    def totals(self) -> dict:
        return {
            "matched": (len(self.matched), sum((o for _, o, _ in self.matched), ZERO)),
            "differs": (len(self.differs), sum((o for _, o, _ in self.differs), ZERO),
                        sum((t for _, _, t in self.differs), ZERO)),
            "only_ours": (len(self.only_ours), sum((o for _, o in self.only_ours), ZERO)),
            "only_theirs": (len(self.only_theirs),
                            sum((t for _, t in self.only_theirs), ZERO)),
        }


def line_key(value) -> str:
    """Our line id as the operator may have written it: L123, 123, l123."""
    text = str(value or "").strip().upper()
    return f"L{int(text.lstrip('L'))}" if text.lstrip("L").isdigit() else text


def reconcile(user, theirs: list[tuple[str, Decimal]], month: date | None = None,
              operator_id=None) -> Comparison:
    """Compare the operator's ledger of our lines (line id, amount) with ours; staff name
    the operator they act for."""
    qs = scoped(user, Line.objects.current().filter(operator__isnull=False))
    if operator_id is not None:
        qs = qs.filter(operator_id=operator_id)
    if month:
        qs = qs.filter(month=month.replace(day=1))
    ours = {f"L{pk}": amount for pk, amount in qs.values_list("pk", "receivable")}
    result = Comparison()
    seen = set()
    for key, amount in theirs:
        key = line_key(key)
        seen.add(key)
        if key not in ours:
            result.only_theirs.append((key, amount))
        elif ours[key] == amount:
            result.matched.append((key, ours[key], amount))
        else:
            result.differs.append((key, ours[key], amount))
    result.only_ours = [(k, v) for k, v in ours.items() if k not in seen]
    return result


def city_by_name(name: str):
    return City.objects.filter(name=name).first()
