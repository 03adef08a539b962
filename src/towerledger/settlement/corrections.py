"""调账 and 冲销 started by the tower side: void a paid bill, re-allocate a bill after a
master-data correction. Refunds (退费) are in ``settlement.refunds``.

Each service is one transaction, takes a reason, writes the audit log and posts balanced
entries (kind CORRECTION). Lines are never edited: every change is a new line that
supersedes the current version of a chain (``adjusts`` = that version, ``root`` = the
chain's original), kind ADJUSTMENT, with its explanation (trace) saying what, why and the
amount before and after. ``preview=True`` computes the same ``Plan`` and writes nothing:
the clerk's page shows it before anything is pushed.

A correction supersedes a chain's current version whatever the operator did with it —
pending, disputed (the open dispute is closed as answered by the correction) or confirmed
(its receivable leaves RECEIVABLE; if the line was on an issued statement, the statement
stays as it is and the next statement carries the difference). Lines with live write-offs
are refused here: ``collection.corrections`` reverses those applications first (the money
goes back to the operator's unapplied cash), one layer up.

Void (冲销): every current line of the bill is superseded by a reversal line of 0, born
confirmed (nothing to confirm), and the bill becomes VOID. The entries reverse the
allocation (Dr ADVANCE, Dr TAX_FACTOR / Cr UNCONFIRMED or RECEIVABLE, Cr TOWER_COST) and the
payment (Dr CASH / Cr ADVANCE). A void bill is void: voiding it again changes nothing.

Re-allocate (重新分摊): the bill is allocated again with today's master data by the same code
as on payment (``allocate._Facts``, ``domain.allocation.allocate``); per (site, tenancy) the
new receivable is compared with the current version of its chain. A difference supersedes
the chain by an adjustment carrying the new amount (a chain's amount is its latest version,
DOMAIN.md §6), pushed for confirmation (or born confirmed at 0). A tenancy that newly
appears gets a new chain: an ADJUSTMENT line that is its own original (``root`` and
``adjusts`` empty) — not an ALLOCATION line, whose sum per bill is the bill's amount and
which T+0 counts. The tower-borne lines stay; the difference moves through TOWER_COST.
Running it again finds nothing left to change.
"""

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.access.models import Role
from towerledger.access.scope import role_of, writable
from towerledger.bills.models import Bill, Refund
from towerledger.bills.payments import advance_postings, site_splits
from towerledger.domain import allocation as dom
from towerledger.domain.codes import SettlementMode
from towerledger.domain.errors import DomainError
from towerledger.domain.journal import Posting
from towerledger.ledger.services import post_entries
from towerledger.settlement.allocate import (
    BILL_FIELDS,
    Agreements,
    TaxFactors,
    _Facts,
    _with_tax_source,
)
from towerledger.settlement.models import Dispute, Line, LineTrace, line_state

ZERO = Decimal("0.00")


class CorrectionError(DomainError):
    """A correction's refusal: ``CorrectionError(zh, en, code)``."""


@dataclass
class Change:
    """One line a correction pushes: per site and tenancy, the amount before and after."""

    site: str
    tenancy: str
    operator: str
    before: Decimal | None          # None: a tenancy that newly appears
    after: Decimal
    cost_before: Decimal | None
    cost_after: Decimal
    supersedes: int | None = None   # the line it replaces
    line: int | None = None         # the line pushed (after it was applied)

    @property
    def difference(self) -> Decimal:
        return self.after - (self.before or ZERO)


@dataclass
class Plan:
    action: str                     # VOID | REALLOCATE | REFUND
    subject: str                    # what it corrects, in words
    changes: list[Change] = field(default_factory=list)
    done: bool = False              # applied (False on a preview)
    already: bool = False           # nothing to do: applied before (a retry)
    journal: Decimal = ZERO         # what the entries move (Σ debits)

    @property
    def total_difference(self) -> Decimal:
        return sum((c.difference for c in self.changes), ZERO)


def require(user, reason: str):
    """Staff only, and a reason."""
    if user is not None and role_of(user) not in (Role.PROVINCE_ADMIN, Role.CITY_CLERK):
        raise CorrectionError("无权调账", "you may not correct lines", "forbidden")
    if not (reason or "").strip():
        raise CorrectionError("请填写调账原因", "a reason is required")
    if len(reason) > 200:
        raise CorrectionError("原因不能超过 200 字", "the reason is at most 200 characters")


def writable_bill(user, bill_id, lock=False) -> Bill:
    """The bill if ``user`` may change it (a clerk: every site it feeds is in their city)."""
    qs = writable(user, Bill.objects.filter(pk=bill_id))
    b = (qs.select_for_update() if lock else qs).select_related("account").first()
    if b is None:
        raise CorrectionError("缴费单不存在", "no such bill", "not_found")
    return b


def current_lines(bill: Bill, lock=False):
    """The current versions of the bill's chains owed by operators (credits aside)."""
    qs = Line.objects.current().filter(bill=bill).exclude(kind=Line.Kind.CREDIT)
    if lock:
        qs = qs.select_for_update(of=("self",))
    return list(qs.select_related("site", "operator", "tenancy", "city").order_by("pk"))


def refuse_held(bill: Bill):
    """A bill whose lines a blocking allocation finding holds has pushed nothing and posted
    no allocation: resolve (or whitelist) the finding first, then correct what was pushed."""
    if Line.objects.filter(line_state("held"), bill=bill).exists():
        raise CorrectionError("该缴费单的明细被分摊稽核结果暂缓：请先处理稽核结果",
                              "the bill's lines are held by an allocation finding: resolve "
                              "it first", "conflict")


def _refuse_written_off(lines):
    paid = [f"L{ln.pk}" for ln in lines if ln.written_off]
    if paid:
        raise CorrectionError(f"明细 {' '.join(paid)} 已核销：请先反核销（页面与命令会自动处理）",
                              f"lines {' '.join(paid)} are written off: reverse the "
                              "write-offs first (the page and the command do)", "conflict")


# ---- superseding one chain ---------------------------------------------------------------

def supersede(old: Line, cost: Decimal, tax: Decimal, user, today, now, note: dict,
              reason: str) -> Line:
    """Replace the current version ``old`` by a new line of ``cost`` + ``tax``: pushed for
    confirmation when it asks something, else confirmed at birth. Closes an open dispute
    of ``old`` as answered by the correction; returns the new line (entries are the
    caller's)."""
    amount = cost + tax
    adj = _new_line(old.__dict__ | {"site_id": old.site_id}, old.bill_id, cost, tax, user,
                    today, now, adjusts=old, root_id=old.chain_root_id,
                    province_id=old.city.province_id)
    trace = {**old.trace, **note, "adjusts": f"L{old.pk}", "reason": reason,
             "previous_receivable": str(old.receivable), "receivable": str(amount)}
    LineTrace.objects.create(line=adj, trace=trace)
    Line.objects.filter(pk=old.pk).update(status=Line.Status.SUPERSEDED)
    open_dispute = old.disputes.filter(status__in=Dispute.OPEN_STATES).first()
    if open_dispute:
        open_dispute.status = Dispute.Status.ACCEPTED if not amount else Dispute.Status.PARTIAL
        open_dispute.answer = f"{note.get('text_zh', '')} {reason}"[:2000]
        open_dispute.new_amount, open_dispute.adjustment = amount, adj
        open_dispute.answered_by = user if getattr(user, "pk", None) else None
        open_dispute.answered_at = now
        open_dispute.save()
    return adj


def _new_line(src: dict, bill_id, cost, tax, user, today, now, *, adjusts=None,
              root_id=None, province_id=None) -> Line:
    amount = cost + tax
    push = amount > 0
    due = None
    if push:
        due = today + timedelta(days=Agreements()(src["operator_id"], province_id,
                                                  today).confirm_within_days)
    return Line.objects.create(
        kind=Line.Kind.ADJUSTMENT, bill_id=bill_id, site_id=src["site_id"],
        city_id=src["city_id"], tenancy_id=src["tenancy_id"], operator_id=src["operator_id"],
        mode=src["mode"], month=today.replace(day=1), period_start=src["period_start"],
        period_end=src["period_end"], active_days=src["active_days"], share=src["share"],
        cost_share=cost, tax_factor=src["tax_factor"], tax_amount=tax, receivable=amount,
        adjusts=adjusts, root_id=root_id,
        status=Line.Status.PUSHED if push else Line.Status.CONFIRMED, pushed_at=now,
        push_date=today, confirm_due=due, confirmed_at=None if push else now,
        confirmed_by=None if push or not getattr(user, "pk", None) else user)


def _reverse_version(ln: Line) -> list[Posting]:
    """Take a current version out of the books: its receivable leaves UNCONFIRMED (pending,
    disputed) or RECEIVABLE (confirmed), its cost returns to TOWER_COST, its tax factor
    leaves TAX_FACTOR."""
    site, op = ln.site.site_code, ln.operator.code
    account = "RECEIVABLE" if Line.objects.confirmed().filter(pk=ln.pk).exists() \
        else "UNCONFIRMED"
    return [Posting(account, credit=ln.receivable, site=site, operator=op),
            Posting("TOWER_COST", debit=ln.receivable - ln.tax_amount, site=site),
            Posting("TAX_FACTOR", debit=ln.tax_amount, site=site, operator=op)]


def _book_version(ln: Line) -> list[Posting]:
    """Put a new version into the books (the mirror of allocation's entry for one line)."""
    site, op = ln.site.site_code, ln.operator.code
    account = "UNCONFIRMED" if ln.receivable > 0 else "RECEIVABLE"
    return [Posting(account, debit=ln.receivable, site=site, operator=op),
            Posting("TOWER_COST", credit=ln.cost_share, site=site),
            Posting("TAX_FACTOR", credit=ln.tax_amount, site=site, operator=op)]


def net(postings: list[Posting]) -> list[Posting]:
    """Net postings per (account, site, operator), one-sided, zero ones dropped."""
    sums: dict[tuple, Decimal] = {}
    for p in postings:
        key = (p.account, p.site, p.operator)
        sums[key] = sums.get(key, ZERO) + p.debit - p.credit
    return [Posting(a, debit=v if v > 0 else ZERO, credit=-v if v < 0 else ZERO, site=s,
                    operator=o) for (a, s, o), v in sums.items() if v]


def post(entries, user):
    """Post correction entries, with the site and operator ids their postings name."""
    from towerledger.org.models import Operator
    from towerledger.sites.models import Site

    entries = [e for e in entries if e[4]]
    sites = {p.site for e in entries for p in e[4] if p.site}
    ops = {p.operator for e in entries for p in e[4] if p.operator}
    post_entries(entries, user,
                 site_ids=dict(Site.objects.filter(site_code__in=sites)
                               .values_list("site_code", "pk")),
                 operator_ids=dict(Operator.objects.filter(code__in=ops)
                                   .values_list("code", "pk")))
    return sum((p.debit for e in entries for p in e[4]), ZERO)


# ---- void ---------------------------------------------------------------------------------

def void_bill(bill_id, user, reason: str, today: date | None = None,
              preview: bool = False) -> Plan:
    """冲销: void a bill (a duplicate that slipped through): see the module's docstring."""
    require(user, reason)
    today = today or timezone.localdate()
    with transaction.atomic():
        bill = writable_bill(user, bill_id, lock=not preview)
        plan = Plan("VOID", f"{bill.account.account_no}/{bill.bill_no}")
        if bill.status == Bill.Status.VOID:
            plan.already = True
            return plan
        if Refund.objects.filter(bill=bill).exists():
            raise CorrectionError("该缴费单已有退费，不能冲销", "the bill has refunds: it "
                                  "cannot be voided", "conflict")
        refuse_held(bill)
        lines = current_lines(bill, lock=not preview)
        plan.changes = [Change(ln.site.site_code, ln.tenancy.tenancy_id if ln.tenancy else "",
                               ln.operator.code, ln.receivable, ZERO,
                               ln.receivable - ln.tax_amount, ZERO, ln.pk) for ln in lines]
        if preview:
            return plan
        _refuse_written_off(lines)
        now = timezone.now()
        note = {"correction": "VOID",
                "text_zh": f"冲销缴费单 {plan.subject}：{reason}",
                "text_en": f"bill {plan.subject} voided: {reason}"}
        postings = []
        for ln, ch in zip(lines, plan.changes, strict=True):
            postings += _reverse_version(ln)
            ch.line = supersede(ln, ZERO, ZERO, user, today, now, note, reason).pk
        entries = []
        if bill.status == Bill.Status.PAID:
            # the allocation's advance comes back off TOWER_COST (operators' parts were
            # moved to TOWER_COST above), then the payment's advance off CASH
            advance = [Posting("ADVANCE", debit=p.credit, site=p.site)
                       for p in _allocated_advance(bill)]
            postings += advance + [Posting("TOWER_COST", credit=p.debit, site=p.site)
                                   for p in advance]
            entries.append((today, "CORRECTION", f"VOID-B{bill.pk}",
                            f"冲销分摊 {plan.subject}", net(postings)))
            paid = advance_postings(bill.amount, site_splits([bill.account_id])
                                    .get(bill.account_id, []))
            entries.append((today, "CORRECTION", f"VOID-PAY-B{bill.pk}",
                            f"冲销支付 {plan.subject}",
                            [Posting(p.account, debit=p.credit, credit=p.debit, site=p.site)
                             for p in paid]))
        plan.journal = post(entries, user)
        before = bill.status
        Bill.objects.filter(pk=bill.pk).update(status=Bill.Status.VOID)
        record(user, "void", "bill", plan.subject, {"status": before},
               {"status": "VOID", "lines": " ".join(f"L{c.line}" for c in plan.changes)},
               reason)
        plan.done = True
    return plan


def _allocated_advance(bill: Bill) -> list[Posting]:
    """What the bill's allocation credited to ADVANCE, per site (its lines' cost shares)."""
    by_site: dict[str, Decimal] = {}
    for code, cost in Line.objects.filter(bill=bill, kind=Line.Kind.ALLOCATION).values_list(
            "site__site_code", "cost_share"):
        by_site[code] = by_site.get(code, ZERO) + cost
    return [Posting("ADVANCE", credit=v, site=k) for k, v in sorted(by_site.items()) if v]


# ---- re-allocate ----------------------------------------------------------------------------

def reallocate_bill(bill_id, user, reason: str, today: date | None = None,
                    preview: bool = False) -> Plan:
    """重新分摊 after a master-data correction: see the module's docstring."""
    require(user, reason)
    today = today or timezone.localdate()
    with transaction.atomic():
        bill = writable_bill(user, bill_id, lock=not preview)
        if bill.status != Bill.Status.PAID:
            raise CorrectionError(f"缴费单状态为 {bill.status}，只能重新分摊已支付的缴费单",
                                  f"the bill is {bill.status}: only a paid bill is "
                                  "re-allocated", "conflict")
        plan = Plan("REALLOCATE", f"{bill.account.account_no}/{bill.bill_no}")
        refuse_held(bill)
        fresh = allocate_again(bill)
        lines = current_lines(bill, lock=not preview)
        now_by_key = {(ln.site_id, ln.tenancy_id): ln for ln in lines}
        site_ids = {ln.site.site_code: ln.site_id for ln in lines}
        site_ids.update(_site_ids(fresh))
        todo = []
        for new in fresh.lines:
            if new.tenancy_key is None or new.mode == SettlementMode.LUMP_SUM:
                continue   # tower-borne: stays, the difference moves through TOWER_COST
            old = now_by_key.pop((site_ids[new.site_code], new.tenancy_key), None)
            if old and (old.receivable, old.cost_share) == (new.receivable, new.cost_share):
                continue
            todo.append((old, new))
        for old in now_by_key.values():   # no longer takes part: its chain goes to 0
            todo.append((old, None))
        for old, new in todo:
            plan.changes.append(Change(
                (new.site_code if new else old.site.site_code),
                (new.tenancy_id if new else old.tenancy.tenancy_id),
                (new.operator if new else old.operator.code),
                old.receivable if old else None, new.receivable if new else ZERO,
                old.cost_share if old else None, new.cost_share if new else ZERO,
                old.pk if old else None))
        if preview or not todo:
            plan.already = not todo
            return plan
        _refuse_written_off([old for old, _ in todo if old])
        plan.journal = _apply_reallocation(bill, plan, todo, site_ids, user, today, reason)
        record(user, "reallocate", "bill", plan.subject, {
            c.tenancy: str(c.before) for c in plan.changes}, {
            c.tenancy: f"{c.after} L{c.line}" for c in plan.changes}, reason)
        plan.done = True
    return plan


def _apply_reallocation(bill, plan, todo, site_ids, user, today, reason) -> Decimal:
    from towerledger.org.models import Operator

    now = timezone.now()
    op_ids = dict(Operator.objects.values_list("code", "pk"))
    entries = []
    for (old, new), ch in zip(todo, plan.changes, strict=True):
        before = f"{ch.before}" if ch.before is not None else "—"
        note = {"correction": "REALLOCATE", "before": before, "after": str(ch.after),
                "text_zh": f"重新分摊 {plan.subject}（{reason}）：{ch.tenancy} 应收 {before} → "
                           f"{ch.after}" + (f"\n{new.trace.get('text_zh', '')}" if new else ""),
                "text_en": f"bill {plan.subject} re-allocated ({reason}): {ch.tenancy} "
                           f"receivable {before} → {ch.after}"
                           + (f"\n{new.trace.get('text_en', '')}" if new else "")}
        cost = new.cost_share if new else ZERO
        tax = new.tax_amount if new else ZERO
        postings = []
        if old:
            postings += _reverse_version(old)
            if new:
                old.share, old.active_days = new.share, new.active_days
                old.tax_factor = new.tax_factor
            line = supersede(old, cost, tax, user, today, now, note, reason)
        else:
            src = {"site_id": site_ids[new.site_code], "city_id": _city_of(site_ids[
                new.site_code]), "tenancy_id": new.tenancy_key,
                "operator_id": op_ids[new.operator], "mode": new.mode or "",
                "period_start": bill.period_start, "period_end": bill.period_end,
                "active_days": new.active_days, "share": new.share,
                "tax_factor": new.tax_factor}
            line = _new_line(src, bill.pk, cost, tax, user, today, now,
                             province_id=_province_of_site(src["site_id"]))
            LineTrace.objects.create(line=line, trace={**new.trace, **note, "reason": reason})
        line = Line.objects.select_related("site", "operator").get(pk=line.pk)
        postings += _book_version(line)
        ch.line = line.pk
        entries.append((today, "CORRECTION", f"L{line.pk}", f"重新分摊 {plan.subject} "
                        f"L{ch.supersedes or '-'} → L{line.pk}", net(postings)))
    return post(entries, user)


def allocate_again(bill: Bill) -> dom.Allocation:
    """The bill allocated with today's master data, by the payment path's own code."""
    b = Bill.objects.filter(pk=bill.pk).values(*BILL_FIELDS).get()
    facts = _Facts.load([b])
    sites = facts.sites(b)
    if not sites:
        raise CorrectionError("该户号未关联站址", "the account feeds no site", "conflict")
    province, taxes, tax_rows = facts.province_of(b["account_id"]), TaxFactors(), {}

    def factor(op):
        tax_rows[op] = taxes(b, province, op)   # the row in force, as on payment
        return tax_rows[op].factor

    alloc = dom.allocate(
        dom.BillIn(b["bill_no"], b["amount"], b["kwh"], b["period_start"], b["period_end"]),
        sites, factor)
    return dom.Allocation(alloc.bill_no, tuple(
        replace(ln, trace=_with_tax_source(ln, tax_rows)) for ln in alloc.lines), alloc.flags)


def _site_ids(alloc: dom.Allocation) -> dict:
    from towerledger.sites.models import Site

    return dict(Site.objects.filter(site_code__in={ln.site_code for ln in alloc.lines})
                .values_list("site_code", "pk"))


def _city_of(site_id):
    from towerledger.sites.models import Site

    return Site.objects.filter(pk=site_id).values_list("county__city_id", flat=True).get()


def _province_of_site(site_id):
    from towerledger.sites.models import Site

    return Site.objects.filter(pk=site_id).values_list("county__city__province_id",
                                                       flat=True).get()
