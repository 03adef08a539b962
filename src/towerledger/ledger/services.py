"""Post balanced entries, one or many at once (set-wise for bulk paths: entries and lines go
in by ``copy_insert``, without model instances)."""

from collections.abc import Iterable
from datetime import date

from django.db.models import Sum

from towerledger.db.bulk import OneOf, copy_insert, parts
from towerledger.domain.journal import Posting, check_balanced
from towerledger.domain.months import next_month
from towerledger.ledger.models import JournalEntry, JournalLine, MonthClose


def post_entries(entries: Iterable[tuple[date, str, str, str, list[Posting]]], user=None,
                 site_ids: dict | None = None, operator_ids: dict | None = None) -> int:
    """Post ``(date, kind, reference, memo, postings)`` entries; skip ones already posted
    (same kind and reference), so a retry posts nothing twice. Returns entries posted."""
    entries = list(entries)
    for *_, postings in entries:
        check_balanced(postings)
    if not entries:
        return 0
    kinds = {e[1] for e in entries}
    done = set()
    for part in parts(e[2] for e in entries):
        done.update(JournalEntry.objects.filter(OneOf("reference", part), kind__in=kinds)
                    .values_list("kind", "reference"))
    todo = [e for e in entries if (e[1], e[2]) not in done]
    opened = open_period_start()
    if opened:   # a closed month never changes: later corrections land in the open month
        todo = [(max(d, opened), *rest) for d, *rest in todo]
    uid = getattr(user, "pk", None)
    ids = copy_insert(JournalEntry, [
        {"date": d, "kind": k, "reference": r, "memo": m[:200], "created_by_id": uid}
        for d, k, r, m, _ in todo])
    site_ids = site_ids or {}
    operator_ids = operator_ids or {}
    copy_insert(JournalLine, [
        {"entry_id": pk, "account": p.account, "debit": p.debit, "credit": p.credit,
         "site_id": site_ids.get(p.site) if p.site else None,
         "operator_id": operator_ids.get(p.operator) if p.operator else None}
        for pk, (*_, postings) in zip(ids, todo, strict=True) for p in postings])
    return len(ids)


def open_period_start() -> date | None:
    """The first day after the last closed month (月结), or None when none is closed."""
    last = MonthClose.objects.filter(status=MonthClose.Status.CLOSED).order_by("-month") \
        .values_list("month", flat=True).first()
    if last is None:
        return None
    return next_month(last)


def trial_balance() -> dict[str, tuple]:
    """{account: (debit, credit)} and the check that Σ debit = Σ credit."""
    rows = JournalLine.objects.values("account").annotate(d=Sum("debit"), c=Sum("credit"))
    return {r["account"]: (r["d"], r["c"]) for r in rows}
