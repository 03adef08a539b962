"""The receivables core's part of `towerledger check` (``analysis.books.check_books``):

* the trial balance is zero (debits = credits, overall and per account side);
* every paid bill is fully allocated: it has lines and their cost shares sum to its amount;
* the UNCONFIRMED account equals the receivable of lines pushed and not yet answered, and
  RECEIVABLE equals the receivable of confirmed lines less what receipts have applied;
* every site's ADVANCE is cleared by its allocations once its bills are allocated;
* no line is written off beyond its receivable.

Receipts are checked by ``collection.checks``, above this layer.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, Sum

from towerledger.bills.models import Bill
from towerledger.ledger.models import JournalLine
from towerledger.settlement.allocate import allocated
from towerledger.settlement.models import Application, Line

ZERO = Decimal("0.00")


def q(x) -> Decimal:
    """A database sum to the fen: SQLite adds decimals as floats (2301.07000000000)."""
    return Decimal(str(x or 0)).quantize(ZERO)


# while ``one_pass()`` is open: every account's balance and what receipts applied, read
# once (a context variable: a web request's check never sees another's)
_READ: ContextVar[dict | None] = ContextVar("towerledger_check_read", default=None)


@contextmanager
def one_pass():
    """Within it, ``_balance(account)`` (without filters) and ``applied_in_journal()`` come
    from one ``GROUP BY account`` over the journal and one sum, read on first use, instead
    of a scan per call — a check reads the same balances several times (UNCONFIRMED,
    RECEIVABLE, ADVANCE, UNAPPLIED, the programs' accounts) and nothing is written
    meanwhile."""
    token = _READ.set({})
    try:
        yield
    finally:
        _READ.reset(token)


def _balance(account: str, **filters) -> Decimal:
    read = _READ.get()
    if read is not None and not filters:
        if "balances" not in read:
            read["balances"] = {
                r["account"]: q(r["d"]) - q(r["c"])
                for r in JournalLine.objects.order_by().values("account").annotate(
                    d=Sum("debit"), c=Sum("credit"))}
        return read["balances"].get(account, ZERO)
    r = JournalLine.objects.filter(account=account, **filters).aggregate(
        d=Sum("debit"), c=Sum("credit"))
    return q(r["d"]) - q(r["c"])


def run_checks(limit: int = 20) -> list[str]:
    """Every problem found, in words (Chinese / English); an empty list means all is well."""
    problems = []
    totals = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    if q(totals["d"]) != q(totals["c"]):
        problems.append(f"试算不平衡 trial balance off: debits {totals['d']} ≠ credits "
                        f"{totals['c']}")
    paid = Bill.objects.filter(status=Bill.Status.PAID)
    missing = paid.filter(~allocated())
    for b in missing.values_list("account__account_no", "bill_no")[:limit]:
        problems.append(f"已支付未分摊 paid but not allocated: {b[0]}/{b[1]}")
    n = missing.count()
    if n > limit:
        problems.append(f"… 共 {n} 张已支付未分摊 {n} paid bills not allocated in all")
    sums = paid.annotate(alloc=Sum("lines__cost_share",
                                        filter=Q(lines__kind=Line.Kind.ALLOCATION))) \
        .filter(alloc__isnull=False).exclude(alloc=F("amount")).values_list("account__account_no", "bill_no", "amount",
                                                 "alloc")
    # the database keeps the bills whose sum is not exactly their amount (none, on a sound
    # ledger); judged to the fen here, as SQLite sums decimals as floats
    off = [b for b in sums.iterator(chunk_size=10000) if q(b[3]) != q(b[2])]
    for b in off[:limit]:
        problems.append(f"分摊合计不等于账单金额 allocation ≠ amount: {b[0]}/{b[1]} "
                        f"{q(b[3])} ≠ {b[2]}")
    pending = q(Line.objects.unanswered().aggregate(s=Sum("receivable"))["s"])
    if _balance("UNCONFIRMED") != pending:
        problems.append(f"待确认应收与明细不符 UNCONFIRMED {_balance('UNCONFIRMED')} ≠ "
                        f"pending lines {pending}")
    confirmed = q(Line.objects.confirmed().aggregate(s=Sum("receivable"))["s"])
    receivable = _balance("RECEIVABLE") + applied_in_journal()
    if receivable != confirmed:
        problems.append(f"应收与已确认明细不符 RECEIVABLE {receivable} ≠ confirmed lines "
                        f"{confirmed}")
    # a bill whose lines a blocking allocation finding holds has not cleared its advance yet
    held = Exists(Line.objects.held().filter(bill_id=OuterRef("pk")))
    unallocated = q(paid.filter(~allocated() | held).aggregate(s=Sum("amount"))["s"])
    if _balance("ADVANCE") != unallocated:
        problems.append(f"垫付余额与未分摊账单不符 ADVANCE {_balance('ADVANCE')} ≠ unallocated "
                        f"paid bills {unallocated}")
    live = q(Application.objects.filter(reversed_at__isnull=True)
             .aggregate(s=Sum("amount"))["s"])
    if live != applied_in_journal():
        problems.append(f"核销明细与凭证不符 write-offs {live} ≠ journal {applied_in_journal()}")
    # a credit (negative receivable) is never written off: written off 0 is not "beyond" it
    over = Line.objects.filter(written_off__gt=F("receivable")).exclude(
        receivable__lt=0, written_off=0).count()
    if over:
        problems.append(f"{over} 条明细核销超过应收 lines written off beyond receivable")
    return problems


def applied_in_journal() -> Decimal:
    """Receipts applied to receivables: write-offs less what was unmatched (反核销)."""
    read = _READ.get()
    if read is not None and "applied" in read:
        return read["applied"]
    r = JournalLine.objects.filter(account="RECEIVABLE",
                                   entry__kind__in=["WRITE_OFF", "UNMATCH"]).aggregate(
        c=Sum("credit"), d=Sum("debit"))
    applied = q(r["c"]) - q(r["d"])
    if read is not None:
        read["applied"] = applied
    return applied
