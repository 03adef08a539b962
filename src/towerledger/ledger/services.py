"""Post balanced entries, one or many at once (set-wise for bulk paths)."""

from collections.abc import Iterable
from datetime import date

from django.db.models import Sum

from towerledger.domain.journal import Posting, check_balanced
from towerledger.ledger.models import JournalEntry, JournalLine


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
    refs = {e[2] for e in entries}
    done = set(JournalEntry.objects.filter(kind__in=kinds, reference__in=refs)
               .values_list("kind", "reference"))
    todo = [e for e in entries if (e[1], e[2]) not in done]
    objs = JournalEntry.objects.bulk_create(
        [JournalEntry(date=d, kind=k, reference=r, memo=m[:200], created_by=user)
         for d, k, r, m, _ in todo], batch_size=2000)
    if objs and objs[0].pk is None:  # backends that don't return ids from bulk_create
        ids = dict(((e.kind, e.reference), e.pk) for e in JournalEntry.objects.filter(
            kind__in=kinds, reference__in={e[2] for e in todo}))
        for obj in objs:
            obj.pk = ids[obj.kind, obj.reference]
    site_ids = site_ids or {}
    operator_ids = operator_ids or {}
    lines = [JournalLine(entry_id=obj.pk, account=p.account, debit=p.debit, credit=p.credit,
                         site_id=site_ids.get(p.site) if p.site else None,
                         operator_id=operator_ids.get(p.operator) if p.operator else None)
             for obj, (*_, postings) in zip(objs, todo, strict=True) for p in postings]
    JournalLine.objects.bulk_create(lines, batch_size=5000)
    return len(objs)


def trial_balance() -> dict[str, tuple]:
    """{account: (debit, credit)} and the check that Σ debit = Σ credit."""
    rows = JournalLine.objects.values("account").annotate(d=Sum("debit"), c=Sum("credit"))
    return {r["account"]: (r["d"], r["c"]) for r in rows}
