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

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from towerledger.access.audit import record_many
from towerledger.access.models import AuditEntry
from towerledger.bills.models import Bill
from towerledger.db.bulk import NEXT_ID, OneOf, bulk_set, parts, postgres
from towerledger.domain.journal import Posting
from towerledger.domain.money import largest_remainder
from towerledger.ledger.bulk_post import post_pairs
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
        hold_blocked: bool = False, inserted: list[tuple[dict, date, str]] = ()) -> PayResult:
    """Pay ``(bill pk, paid_date, payment_ref or "")`` requests in one transaction.

    ``hold_blocked``: the payment already happened outside (a bill file's paid_date), so a
    blocked bill keeps the date, to be recorded when its blocking flags are resolved.

    ``inserted``: ``(bill, paid_date, payment_ref)`` of bills a file import has just
    written already marked paid with that date and reference (``paid_at_insert``), then
    audited: those the audit blocked are held like any blocked bill (set back to unpaid,
    the date kept); the rest are posted, logged and announced with the others, exactly as
    if they had been paid here (without writing every paid bill a second time)."""
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
        # the blocked new bills give their references back before any other is written
        blocked = _blocking(b["pk"] for b, _, _ in inserted)
        _unpay([(b["pk"], d) for b, d, _ in inserted if b["pk"] in blocked])
        result.blocked += [b["pk"] for b, _, _ in inserted if b["pk"] in blocked]
        _hold(held)
        _mark_paid(todo)
        todo += [item for item in inserted if item[0]["pk"] not in blocked]
        _post_advances(todo, user)
        _log_paid(todo, user, reason or "支付 pay")
        result.paid = [b["pk"] for b, _, _ in todo]
        if result.paid:
            bills_paid.send(sender=Bill, bill_ids=result.paid, user=user)
    return result


def _log_paid(todo, user, reason: str) -> None:
    """One audit entry per bill paid (``record_many``). On PostgreSQL by one INSERT … SELECT
    from arrays, ids ascending in ``todo``'s order: a file's worth of payments is tens of
    thousands of entries, and their JSON is plain (a status, a date, a reference)."""
    entries = [(b["pk"], {"status": b["status"]},
                {"status": "PAID", "paid_date": d, "payment_ref": ref}) for b, d, ref in todo]
    plain = all(isinstance(b["status"], str) and type(d) is date and type(ref) is str
                for b, d, ref in todo)
    if not entries or not postgres() or not plain:
        record_many(user, "pay", "bill", entries, reason=reason)
        return
    table = AuditEntry._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (id, at, user_id, action, object_type, object_key, before, "
            f"after, reason) SELECT {NEXT_ID}, %s, %s, 'pay', "
            f"'bill', k, jsonb_build_object('status', s), jsonb_build_object('status', 'PAID', "
            f"'paid_date', to_char(d, 'YYYY-MM-DD'), 'payment_ref', r), %s FROM (SELECT * FROM "
            f"unnest(%s::text[], %s::text[], %s::date[], %s::text[]) WITH ORDINALITY "
            f"AS x(k, s, d, r, n) ORDER BY n) x",
            [table, "id", timezone.now(), user.pk if getattr(user, "pk", None) else None, reason,
             [str(b["pk"])[:120] for b, _, _ in todo], [str.__str__(b["status"]) for b, _, _ in todo],   # (a Status: its text)
             [d for _, d, _ in todo], [ref for _, _, ref in todo]])


def pay_from_file(items: list[tuple[int, dict]], user=None,
                  inserted: list[tuple[dict, date, str]] = ()) -> PayResult:
    """Pay bills a file says are paid: ``(bill pk, record with paid_date/payment_ref)``, and
    the file's new bills written already paid (``inserted``, see ``pay``)."""
    return pay([(pk, r["paid_date"], r.get("payment_ref") or "") for pk, r in items], user,
               reason="导入支付 payment from file", hold_blocked=True, inserted=inserted)


def paid_at_insert(new: list[tuple[dict, dict]]) -> list[bool]:
    """Which of a file's new bills ``(bill fields, record)`` go in already paid (their
    fields set so): those the file says are paid whose payment reference (the file's, or
    ``default_ref``) no stored bill holds and no other new bill of the part would take.
    The others are paid after the audit by ``pay`` as before, which fails as before on a
    reference taken twice."""
    refs = [r["payment_ref"] or default_ref(
        {"dup_seq": b["dup_seq"], "account__account_no": r["account_no"],
         "bill_no": r["bill_no"]}) if r["paid_date"] else None for b, r in new]
    counts: dict[str, int] = {}
    for ref in refs:
        if ref is not None:
            counts[ref] = counts.get(ref, 0) + 1
    used: set[str] = set()
    for part in parts(counts):
        used.update(Bill.objects.filter(OneOf("payment_ref", part))
                    .values_list("payment_ref", flat=True))
    out = []
    for (bill, r), ref in zip(new, refs, strict=True):
        ok = ref is not None and counts[ref] == 1 and ref not in used
        if ok:
            bill.update(status=Bill.Status.PAID, paid_date=r["paid_date"], payment_ref=ref)
        out.append(ok)
    return out


def _blocking(pks) -> set[int]:
    """Those of ``pks`` with an open BLOCK flag."""
    found: set[int] = set()
    for part in parts(pks):
        found.update(Bill.objects.filter(OneOf("pk", part), blocking__gt=0)
                     .values_list("pk", flat=True))
    return found


def _unpay(held):
    """Bills written paid that the audit blocked: unpaid, the file's date held."""
    bulk_set(Bill, [{"pk": pk, "status": Bill.Status.UNPAID, "paid_date": None,
                     "payment_ref": "", "requested_paid_date": d} for pk, d in held],
             ["status", "paid_date", "payment_ref", "requested_paid_date"])


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
    """One entry per bill paid with an amount: an account feeding one site (most) by
    ``ledger.bulk_post.post_pairs`` in one statement, a shared account's exact split by
    ``post_entries``."""
    splits = site_splits(b["account_id"] for b, _, _ in todo)
    site_ids = {code: pk for s in splits.values() for code, pk, _ in s}
    pairs, entries = [], []
    for b, d, ref in todo:
        if not b["amount"]:
            continue
        memo = f"支付 {b['account__account_no']}/{b['bill_no']}"
        split = splits[b["account_id"]]
        if len(split) == 1:
            pairs.append((d, ref, memo, b["amount"], split[0][0], split[0][1]))
        else:
            entries.append((d, "PAYMENT", ref, memo, advance_postings(b["amount"], split)))
    post_pairs("PAYMENT", "ADVANCE", "CASH", pairs, user)
    post_entries(entries, user, site_ids=site_ids)
