"""供电条件 (dated supply terms): the one lookup "the account's terms on day D", loaded
set-wise, and the one way to date a change (audit-logged with who and why).

The rule is ``domain.supply_terms`` (the latest dated row on or before D; before the first,
the original terms). Consumers that judge a bill — the allocation's tax factor, the bill
audits' contract price and invoice checks, the KPI price bands, market trading — ask
``load(account_ids).on(account_id, bill_day(...))``: one query for a whole batch of
accounts, never one per bill. ``SupplyAccount``'s own fields stay the terms in force today
(pages, imports, exports); nothing that judges a dated bill reads them directly.
"""

from datetime import date

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from towerledger.access import audit
from towerledger.db.bulk import OneOf, parts
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.supply_terms import DatedTerms, History, Terms, bill_day
from towerledger.sites.models import SupplyAccount, SupplyTerms

FIELDS = ("supply_mode", "supplier_type", "input_invoice_type", "contract_price")
OBJECT_TYPE = "account"

__all__ = ["FIELDS", "Book", "History", "Terms", "bill_day", "change_terms", "history_rows",
           "load", "terms_of"]


def terms_of(obj) -> Terms:
    """The terms held by a ``SupplyAccount`` or ``SupplyTerms`` row (or a dict of FIELDS)."""
    get = obj.get if isinstance(obj, dict) else (lambda f: getattr(obj, f))
    return Terms(*(get(f) for f in FIELDS))


class Book:
    """The histories of a set of accounts, loaded in one query."""

    def __init__(self, histories: dict[int, History]):
        self.histories = histories

    def on(self, account_id: int, day: date) -> Terms:
        return self.histories[account_id].on(day)

    def between(self, account_id: int, first: date, last: date) -> list[Terms]:
        return self.histories[account_id].between(first, last)

    def for_bill(self, b: dict) -> Terms:
        """The terms a bill (a dict with account_id, period_start, period_end) is judged by."""
        return self.on(b["account_id"], bill_day(b["period_start"], b["period_end"]))


def load(account_ids=None) -> Book:
    """The histories of ``account_ids`` (ids or a queryset of ids; None: every account) in
    one query: each account joined to its dated rows."""
    qs = SupplyAccount.objects.all()
    if isinstance(account_ids, QuerySet):
        batches = [qs.filter(pk__in=account_ids)]
    elif account_ids is not None:
        # one array parameter on PostgreSQL, chunks under SQLite's cap on host parameters
        batches = [qs.filter(OneOf("pk", part)) for part in parts(account_ids)]
    else:
        batches = [qs]
    own, rows = {}, {}
    cols = [f"terms__{f}" for f in ("effective_from", *FIELDS)]
    for batch in batches:
        for r in batch.values_list("pk", *FIELDS, "terms__id", *cols).iterator(
                chunk_size=20000):
            pk = r[0]
            own[pk] = Terms(*r[1:5])
            if r[5] is not None:
                since, terms = r[6], Terms(*r[7:11])
                rows.setdefault(pk, {})[since] = terms
    histories = {}
    for pk, terms in own.items():
        dated = rows.get(pk)
        if dated is None:
            histories[pk] = History(terms)           # never changed: its own fields
        else:
            original = dated.pop(None, terms)
            histories[pk] = History(original, [DatedTerms(d, t) for d, t in dated.items()])
    return Book(histories)


def history_rows(account_ids) -> dict[int, list[SupplyTerms]]:
    """account id → its rows (the original first, then by date), for the pages."""
    out: dict[int, list[SupplyTerms]] = {}
    for row in SupplyTerms.objects.filter(account_id__in=list(account_ids)).select_related(
            "recorded_by"):
        out.setdefault(row.account_id, []).append(row)
    return out


def _as_dict(terms: Terms) -> dict:
    return {f: getattr(terms, f) for f in FIELDS}


def change_terms(user, account: SupplyAccount, effective_from: date, terms: Terms, *,
                 reason: str, action: str, source: str = "", extra: dict | None = None,
                 today: date | None = None) -> SupplyTerms:
    """Date a change of the account's terms from ``effective_from``: a new row, never a
    rewrite (a row of the same date is refused). The account's first change also keeps
    the terms it had before as its original row. The account's own fields become the terms
    in force today. One transaction, one audit record under ``action`` (before: the terms
    in force on that day until now, after: the new terms, their date and ``extra``).
    Callers check the user's rights."""
    if not (reason or "").strip():
        raise DomainError("请填写原因", "a reason is required")
    today = today or timezone.localdate()
    by = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        a = SupplyAccount.objects.select_for_update().get(pk=account.pk)
        if SupplyTerms.objects.filter(account=a, effective_from=effective_from).exists():
            raise DomainError(f"户号 {a.account_no} 在 {effective_from} 已有供电条件，不能改写",
                              f"account {a.account_no} already has terms from "
                              f"{effective_from}; they are never rewritten", ErrorCode.CONFLICT)
        if not SupplyTerms.objects.filter(account=a).exists():
            SupplyTerms.objects.create(account=a, effective_from=None, **_as_dict(terms_of(a)),
                                       source="原始 original", reason=reason, recorded_by=by)
        before = load([a.pk]).on(a.pk, effective_from)
        row = SupplyTerms.objects.create(account=a, effective_from=effective_from,
                                         **_as_dict(terms), source=source[:80],
                                         reason=reason[:400], recorded_by=by)
        current = load([a.pk]).on(a.pk, today)
        if current != terms_of(a):
            for f in FIELDS:
                setattr(a, f, getattr(current, f))
            a.save(update_fields=list(FIELDS))
        audit.record(user, action, OBJECT_TYPE, a.account_no, before=_as_dict(before),
                     after={**_as_dict(terms), "effective_from": effective_from,
                            "source": source, **(extra or {})}, reason=reason)
    return row
