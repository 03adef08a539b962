"""Payment (支付/垫付): mark bills paid and post the advance, set-wise.

Paying posts one balanced journal entry per bill, keyed by its payment reference:
  Dr ADVANCE (per fed site, by split ratio)   Cr CASH
so a retry with the same reference posts nothing twice. A bill with an open BLOCK flag is
not paid; a paid date that arrives with it (in a bill file) is held on the bill and used
when the last blocking flag is resolved.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.db import transaction
from django.dispatch import Signal

from towerledger.access.audit import record_many
from towerledger.bills.models import Bill
from towerledger.db.bulk import OneOf, bulk_set, parts
from towerledger.domain.journal import Posting
from towerledger.domain.money import largest_remainder
from towerledger.ledger.services import post_entries
from towerledger.sites.models import AccountSite

# Sent inside the payment's transaction with ``bill_ids`` and ``user``: the settlement app
# allocates and pushes the paid bills the same day (T+0).
bills_paid = Signal()


@dataclass
class PayResult:
    paid: list[int] = field(default_factory=list)
    already_paid: list[int] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)


def default_ref(bill: dict) -> str:
    """The payment reference of a bill paid without one (支付流水号)."""
    seq = f"#{bill['dup_seq']}" if bill["dup_seq"] else ""
    return f"{bill['account__account_no']}/{bill['bill_no']}{seq}"[:60]


FIELDS = ("pk", "account_id", "account__account_no", "bill_no", "dup_seq", "amount", "status",
          "blocking", "payment_ref", "paid_date")


def pay(requests: list[tuple[int, date, str]], user=None, reason: str = "",
        hold_blocked: bool = False) -> PayResult:
    """Pay ``(bill pk, paid_date, payment_ref or "")`` requests in one transaction.

    ``hold_blocked``: the payment already happened outside (a bill file's paid_date), so a
    blocked bill keeps the date, to be recorded when its blocking flags are resolved."""
    result = PayResult()
    with transaction.atomic():
        bills = _lock({pk for pk, _, _ in requests})
        todo, held = [], []
        for pk, paid_date, ref in requests:
            bill = bills[pk]
            if bill["status"] == Bill.Status.PAID:
                result.already_paid.append(pk)
            elif bill["blocking"]:
                result.blocked.append(pk)
                if hold_blocked:
                    held.append((pk, paid_date))
            else:
                todo.append((bill, paid_date, ref or default_ref(bill)))
        _hold(held)
        _mark_paid(todo)
        _post_advances(todo, user)
        record_many(user, "pay", "bill", [
            (b["pk"], {"status": b["status"]},
             {"status": "PAID", "paid_date": d, "payment_ref": ref}) for b, d, ref in todo],
            reason=reason or "支付 pay")
        result.paid = [b["pk"] for b, _, _ in todo]
        if result.paid:
            bills_paid.send(sender=Bill, bill_ids=result.paid, user=user)
    return result


def pay_from_file(items: list[tuple[int, dict]], user=None) -> PayResult:
    """Pay bills a file says are paid: ``(bill pk, record with paid_date/payment_ref)``."""
    return pay([(pk, r["paid_date"], r.get("payment_ref") or "") for pk, r in items], user,
               reason="导入支付 payment from file", hold_blocked=True)


def _lock(pks) -> dict[int, dict]:
    """Read and row-lock the bills (one query on PostgreSQL, whatever their number)."""
    bills = {}
    for part in parts(pks):
        qs = Bill.objects.filter(OneOf("pk", part)).select_for_update(of=("self",))
        bills.update({b["pk"]: b for b in qs.values(*FIELDS)})
    return bills


def _hold(held):
    bulk_set(Bill, [{"pk": pk, "requested_paid_date": d} for pk, d in held],
             ["requested_paid_date"])


def _mark_paid(todo):
    bulk_set(Bill, [{"pk": b["pk"], "status": Bill.Status.PAID, "paid_date": d,
                     "payment_ref": ref, "requested_paid_date": None} for b, d, ref in todo],
             ["status", "paid_date", "payment_ref", "requested_paid_date"])


def site_splits(account_ids) -> dict[int, list[tuple[str, int, Decimal]]]:
    """account pk → [(site_code, site pk, split_ratio)], by site code."""
    splits: dict[int, list] = {}
    for part in parts(account_ids):
        for acc, code, site, ratio in AccountSite.objects.filter(OneOf("account_id", part)) \
                .order_by("site__site_code").values_list("account_id", "site__site_code",
                                                         "site_id", "split_ratio"):
            splits.setdefault(acc, []).append((code, site, ratio))
    return splits


def advance_postings(amount: Decimal, splits) -> list[Posting]:
    """Dr ADVANCE per fed site by split ratio (exact to the fen), Cr CASH.

    Most accounts feed one site, which takes the whole amount whatever its ratio (as
    ``largest_remainder`` would give it); only shared accounts need the exact split."""
    if len(splits) == 1:
        shares = {splits[0][0]: amount}
    else:
        shares = largest_remainder(amount, [(code, Fraction(ratio)) for code, _, ratio in splits])
    return [*(Posting("ADVANCE", debit=shares[code], site=code) for code, _, _ in splits
              if shares[code]),
            Posting("CASH", credit=amount)]


def _post_advances(todo, user):
    splits = site_splits(b["account_id"] for b, _, _ in todo)
    site_ids = {code: pk for s in splits.values() for code, pk, _ in s}
    entries = [(d, "PAYMENT", ref, f"支付 {b['account__account_no']}/{b['bill_no']}",
                advance_postings(b["amount"], splits[b["account_id"]]))
               for b, d, ref in todo if b["amount"]]
    post_entries(entries, user, site_ids=site_ids)
