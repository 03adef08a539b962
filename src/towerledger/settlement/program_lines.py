"""The one door through which every program (DOMAIN.md §7) reaches the operators.

A program — theft recovery, savings sharing, site rent, lump-sum site fees, generator
dispatch, opening balances — computes what each party owes as ``Charge`` values and hands
them here; this module turns them into lines of the program's kind, through the same
lifecycle as an allocation line:

* an operator's charge (amount > 0) is pushed (待确认) with the confirm-by date of the
  operator's agreement, then confirmed, deemed or disputed like any other line;
* an operator's credit (amount < 0: money handed back, e.g. RECOVERY_CREDIT) is confirmed
  at birth — the operator only gains, there is nothing to confirm — and goes on its next
  statement, where it nets against what it owes (as refunds do);
* the tower's part (no operator) is a tower-borne line, never pushed;
* RESALE charges carry the tax-factor gross-up (``tax_factor``) like allocation lines.

Each line carries its explanation (``LineTrace``): ``text_zh`` and ``text_en`` plus the
numbers the program computed it from, shown on the line page and the statement.

The postings are one entry of kind ``kind`` and the caller's ``reference`` (so a retry
posts nothing twice): an operator's line Dr UNCONFIRMED (or Cr RECEIVABLE for a credit) /
Cr TAX_FACTOR its gross-up / Cr the kind's counter account its cost share
(``domain.journal.COUNTER``); the tower's part Dr the kind's tower account / Cr the counter
account. Negative amounts flip sides. Idempotency of the lines themselves is the caller's:
each program records which of its rows a line was pushed for, under a unique constraint,
in the same transaction.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from towerledger.domain.codes import SettlementMode
from towerledger.domain.journal import COUNTER, TOWER_ACCOUNT, Posting
from towerledger.domain.money import fen
from towerledger.ledger.services import post_entries
from towerledger.settlement.allocate import Agreements
from towerledger.settlement.corrections import net
from towerledger.settlement.models import Line, LineTrace

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Charge:
    """What one party owes (or is handed back) for one program row.

    ``tenancy_id`` and ``operator_id`` empty: the tower's own part (tower-borne).
    ``amount`` is the cost share in yuan (negative for a credit); the receivable adds the
    tax-factor gross-up when ``mode`` is RESALE."""

    site_id: int
    amount: Decimal
    period_start: date
    period_end: date
    explanation: dict
    tenancy_id: int | None = None
    operator_id: int | None = None
    mode: str = ""
    tax_factor: Decimal = ZERO
    share: Decimal = Decimal(1)
    active_days: int = 0
    bill_id: int | None = None
    extra: dict = field(default_factory=dict)   # stored in the trace beside the explanation
    # a line taken over from a legacy ledger (OPENING) keeps its original dates: pushed on
    # ``push_date`` (default ``today``), confirmed on ``confirmed_on`` (default: pushed for
    # confirmation, or confirmed at birth for a credit)
    push_date: date | None = None
    confirmed_on: date | None = None


def receivable_of(charge: Charge) -> tuple[Decimal, Decimal]:
    """(tax-factor amount, receivable) of an operator's charge."""
    cost = fen(charge.amount)
    tax = ZERO
    if charge.operator_id and charge.mode == SettlementMode.RESALE and charge.tax_factor:
        tax = fen(cost * Decimal(charge.tax_factor))
    return tax, cost + tax


def push_program_lines(kind: str, charges: list[Charge], *, user, reference: str, memo: str,
                       today: date | None = None, month: date | None = None) -> list[Line]:
    """Store ``charges`` as lines of ``kind`` and post their entry (see the module's
    docstring). Zero charges make no line. Returns the lines, in the charges' order."""
    if kind not in COUNTER:
        raise ValueError(f"{kind} is not a program line kind")
    today = today or timezone.localdate()
    month = (month or today).replace(day=1)
    now = timezone.now()
    from towerledger.sites.models import Site

    site_ids = {c.site_id for c in charges}
    sites = {s["pk"]: s for s in Site.objects.filter(pk__in=site_ids).values(
        "pk", "site_code", "county__city_id", "county__city__province_id")}
    from towerledger.org.models import Operator

    op_codes = dict(Operator.objects.filter(pk__in={c.operator_id for c in charges}).values_list(
        "pk", "code"))
    terms = Agreements()
    lines, traces, postings = [], [], []
    counter = COUNTER[kind]
    for c in charges:
        cost = fen(c.amount)
        if not cost:
            continue
        site = sites[c.site_id]
        code = site["site_code"]
        tower = not c.operator_id
        tax, receivable = (ZERO, ZERO) if tower else receivable_of(c)
        pushed_on = c.push_date or today
        if tower:
            status, due, confirmed = Line.Status.TOWER, None, None
        elif receivable > 0 and c.confirmed_on is None:
            days = terms(c.operator_id, site["county__city__province_id"], pushed_on)
            status, due, confirmed = (Line.Status.PUSHED,
                                      pushed_on + timedelta(days=days.confirm_within_days),
                                      None)
        else:
            status, due, confirmed = Line.Status.CONFIRMED, None, (
                now if c.confirmed_on is None else timezone.make_aware(
                    datetime.combine(c.confirmed_on, time(12))))
        lines.append(Line(
            kind=kind, bill_id=c.bill_id, site_id=c.site_id, city_id=site["county__city_id"],
            tenancy_id=c.tenancy_id, operator_id=c.operator_id, mode=c.mode, month=month,
            period_start=c.period_start, period_end=c.period_end, active_days=c.active_days,
            share=c.share, cost_share=cost, tax_factor=c.tax_factor if not tower else ZERO,
            tax_amount=tax, receivable=receivable, status=status,
            pushed_at=None if tower else (now if c.push_date is None else timezone.make_aware(
                datetime.combine(c.push_date, time(12)))),
            push_date=None if tower else pushed_on,
            confirm_due=due, confirmed_at=confirmed))
        traces.append({"program": kind, **c.extra, **c.explanation})
        if tower:
            postings += _signed(TOWER_ACCOUNT.get(kind, "TOWER_COST"), cost, site=code)
        else:
            op = op_codes[c.operator_id]
            side = "UNCONFIRMED" if status == Line.Status.PUSHED else "RECEIVABLE"
            postings += _signed(side, receivable, site=code, operator=op)
            postings += _signed("TAX_FACTOR", -tax, site=code, operator=op)
        postings += _signed(counter, -cost, site=code)
    with transaction.atomic():
        Line.objects.bulk_create(lines, batch_size=2000)
        LineTrace.objects.bulk_create([LineTrace(line=ln, trace=t)
                                       for ln, t in zip(lines, traces, strict=True)],
                                      batch_size=2000)
        postings = net(postings)
        if postings:
            post_entries([(today, kind, reference, memo, postings)], user,
                         site_ids={s["site_code"]: pk for pk, s in sites.items()},
                         operator_ids={code: pk for pk, code in op_codes.items()})
    return lines


def _signed(account: str, amount: Decimal, **where) -> list[Posting]:
    """A debit of ``amount`` (a credit when negative); nothing when zero."""
    if amount > 0:
        return [Posting(account, debit=amount, **where)]
    if amount < 0:
        return [Posting(account, credit=-amount, **where)]
    return []
