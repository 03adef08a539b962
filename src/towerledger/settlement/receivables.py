"""Receivable chains as of a date (应收链): the one place that answers "what did operators
owe, confirm and pay, as of day X" (DOMAIN.md §6).

A *chain* is an original line and the adjustment lines that replace it after a dispute
answer or a correction. It belongs to the month its original was pushed. Its *version* as
of X is its latest line pushed on or before X, and its amount as of X that version's
receivable (a rejected dispute keeps the original amount, an accepted one makes it 0).
It is *confirmed* as of X when that version was confirmed (explicitly or deemed) on or
before X. What is *written off* of it as of X is the sum of the applications on any of its
lines whose receipt is dated on or before X and that were not reversed on or before X.

Every function here works set-wise and returns figures grouped by (site, operator, date of
the original push), the grain the KPI snapshots, ageing and the site reports roll up from.
Nothing else in the product filters lines by status (``LineQuerySet`` names the current
states; this module the history).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from towerledger.settlement.models import Application, Line, LineQuerySet, line_state

ZERO = Decimal("0.00")


def fen(x) -> Decimal:
    """A database sum to the fen (SQLite adds decimals as floats)."""
    return Decimal(str(x or 0)).quantize(ZERO)


def day_end(day: date) -> datetime:
    """The first instant after ``day`` in local time: 'on or before day' for a timestamp."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


@dataclass(frozen=True)
class Roots:
    """Which chains: by the original's push date, or by the original being an allocation
    line of a bill paid in a date range (当年垫付) or an opening line (legacy ledger) pushed
    in it, and optionally by site or operator."""

    pushed_from: date | None = None
    pushed_to: date | None = None
    allocation_paid_from: date | None = None
    allocation_paid_to: date | None = None
    site_ids: tuple[int, ...] | None = None
    operator_ids: tuple[int, ...] | None = None

    def q(self, line: str = "") -> Q:
        """The condition on a line annotated with ``chain_date`` and ``chain_kind`` (see
        ``_lines``) whose chain this selects; ``line`` is the path to the line
        ("line__" from an application)."""
        p = line
        q = Q(**{f"{p}operator__isnull": False})
        if self.pushed_from:
            q &= Q(chain_date__gte=self.pushed_from)
        if self.pushed_to:
            q &= Q(chain_date__lte=self.pushed_to)
        if self.allocation_paid_from or self.allocation_paid_to:
            # the advances of a period: allocation lines of bills paid in it, and the
            # legacy ledger's lines taken over (OPENING, programs.history) pushed in it —
            # the legacy ledger's push date stands for its advance date
            paid, legacy = Q(chain_kind=Line.Kind.ALLOCATION), Q(chain_kind=Line.Kind.OPENING)
            if self.allocation_paid_from:
                paid &= Q(**{f"{p}bill__paid_date__gte": self.allocation_paid_from})
                legacy &= Q(chain_date__gte=self.allocation_paid_from)
            if self.allocation_paid_to:
                paid &= Q(**{f"{p}bill__paid_date__lte": self.allocation_paid_to})
                legacy &= Q(chain_date__lte=self.allocation_paid_to)
            q &= paid | legacy
        if self.site_ids is not None:
            q &= Q(**{f"{p}site_id__in": self.site_ids})
        if self.operator_ids is not None:
            q &= Q(**{f"{p}operator_id__in": self.operator_ids})
        return q


def pushed_in(first: date, last: date, **more) -> Roots:
    """The chains of a month (or any range): originals pushed from ``first`` to ``last``."""
    return Roots(pushed_from=first, pushed_to=last, **more)


def pushed_by(last: date, **more) -> Roots:
    """Every chain whose original was pushed on or before ``last``."""
    return Roots(pushed_to=last, **more)


def _lines() -> LineQuerySet:
    """Lines without the derived written-off (not needed here), with their chain's key,
    original push date and original kind."""
    return LineQuerySet(model=Line).annotate(
        chain=_chain_key(),
        chain_date=Coalesce("root__push_date", "push_date"),
        chain_kind=Coalesce("root__kind", "kind"))


def versions(as_of: date, roots: Roots) -> LineQuerySet:
    """The version as of ``as_of`` of every selected chain: its latest line pushed on or
    before that day (the chain is linear and ids grow along it)."""
    later = LineQuerySet(model=Line).filter(root_id=OuterRef("chain"), push_date__lte=as_of,
                                            pk__gt=OuterRef("pk"))
    return _lines().filter(roots.q(), push_date__lte=as_of).exclude(Exists(later))


@dataclass(frozen=True)
class ChainFigures:
    """Chains of one (site, operator, original push date) as of a day."""

    site_id: int
    operator_id: int
    pushed: date
    chains: int
    amount: Decimal
    confirmed: Decimal
    deemed: Decimal


def _chain_amount_rows(as_of: date, roots: Roots):
    done = Q(confirmed_at__lt=day_end(as_of))
    return versions(as_of, roots).values("site_id", "operator_id", "chain_date").annotate(
        n=Count("pk"), amount=Sum("receivable"),
        conf=Sum("receivable", filter=done), deemed_=Sum("receivable", filter=done & Q(
            deemed=True))).values_list("site_id", "operator_id", "chain_date", "n", "amount",
                                       "conf", "deemed_")


def chain_amounts(as_of: date, roots: Roots) -> Iterator[ChainFigures]:
    """Count, amount, confirmed and deemed-confirmed amount of the selected chains as of
    ``as_of``, by site, operator and original push date."""
    for site, op, pushed, n, amount, conf, deemed in _chain_amount_rows(
            as_of, roots).iterator(chunk_size=20000):
        yield ChainFigures(site, op, pushed, n, fen(amount), fen(conf), fen(deemed))


@dataclass(frozen=True)
class SiteChainFigures:
    """``chain_amounts`` summed over the original push dates of one (site, operator).
    ``parts``: which of amount, confirmed, deemed have a nonzero (site, operator, push
    date) part, so a sum of 0.00 from parts that cancel is told from no part at all."""

    site_id: int
    operator_id: int
    chains: int
    amount: Decimal
    confirmed: Decimal
    deemed: Decimal
    parts: tuple[bool, bool, bool]


def _summed(rows, keys: tuple[str, ...], sums: tuple[str, ...]):
    """``rows`` (a grouped values queryset whose columns are named ``keys``, the original
    push date and ``sums``) added over the push date in the database, each sum with whether
    any of its per-date parts is a nonzero fen: (*keys, *sums, *nonzero) per ``keys``."""
    inner, params = rows.query.sql_with_params()
    q = connection.ops.quote_name
    key_cols = ", ".join(q(k) for k in keys)
    sql = (f"SELECT {key_cols}, " + ", ".join(f"SUM({q(n)})" for n in sums) + ", "
           + ", ".join(f"MAX(CASE WHEN ABS({q(n)}) > 0.005 THEN 1 ELSE 0 END)" for n in sums)
           + f" FROM ({inner}) per_day GROUP BY {key_cols}")
    with connection.chunked_cursor() as cursor:    # server-side on PostgreSQL, as iterator()
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(20000):
            yield from batch


def chain_sums(as_of: date, roots: Roots) -> Iterator[SiteChainFigures]:
    """``chain_amounts`` by site and operator only: the same chains and versions, their
    figures added over the original push dates in the database."""
    for site, op, n, amount, conf, deemed, *nonzero in _summed(
            _chain_amount_rows(as_of, roots), ("site_id", "operator_id"),
            ("n", "amount", "conf", "deemed_")):
        yield SiteChainFigures(site, op, int(n), fen(amount), fen(conf), fen(deemed),
                               tuple(bool(x) for x in nonzero[1:]))


def live_applications(as_of: date):
    """Applications (核销) standing as of ``as_of``: their receipt is dated on or before it
    and they were not reversed on or before it."""
    return Application.objects.filter(receipt__received_date__lte=as_of).filter(
        Q(reversed_at__isnull=True) | Q(reversed_at__gte=day_end(as_of)))


def _written_off_rows(as_of: date, roots: Roots):
    return live_applications(as_of).annotate(
        chain_date=Coalesce("line__root__push_date", "line__push_date"),
        chain_kind=Coalesce("line__root__kind", "line__kind")).filter(
        roots.q("line__")).values(
        "line__site_id", "line__operator_id", "chain_date").annotate(
        s=Sum("amount")).values_list("line__site_id", "line__operator_id", "chain_date", "s")


def written_off(as_of: date, roots: Roots) -> Iterator[tuple[int, int, date, Decimal]]:
    """(site, operator, original push date, amount written off as of ``as_of``) of the
    selected chains."""
    for site, op, pushed, s in _written_off_rows(as_of, roots).iterator(chunk_size=20000):
        yield site, op, pushed, fen(s)


def written_off_sums(as_of: date, roots: Roots) -> Iterator[tuple[int, int, Decimal, bool]]:
    """``written_off`` by site and operator only, added over the original push dates in the
    database: (site, operator, amount, whether any per-date part is nonzero)."""
    for site, op, s, nonzero in _summed(
            _written_off_rows(as_of, roots), ("line__site_id", "line__operator_id"), ("s",)):
        yield site, op, fen(s), bool(nonzero)


def _chain_key(path: str = ""):
    """The chain of a line (``path`` leads to it): its original's id, or its own."""
    return Coalesce(f"{path}root_id", f"{path}id")


def _maybe_open(as_of: date) -> Q:
    """Chains that may owe something as of ``as_of`` (on lines annotated with ``chain``):
    those open today, those changed after the day (a later version, a receipt dated later,
    an application reversed since). Every other chain is settled as of the day too, so the
    exact per-chain figures are needed only for these few."""
    open_now = Line.objects.current().exclude(receivable=F("written_off")).annotate(
        c=_chain_key()).values("c")
    changed = LineQuerySet(model=Line).filter(push_date__gt=as_of).annotate(
        c=_chain_key()).values("c")
    moved = Application.objects.filter(
        Q(receipt__received_date__gt=as_of) | Q(reversed_at__gte=day_end(as_of))).annotate(
        c=_chain_key("line__")).values("c")
    # one IN over the union, not three INs joined by OR: PostgreSQL turns the one into a
    # hash join, but ORed INs only into hashed subplans, which it gives up for a linear
    # scan per row once a set no longer fits in work_mem — with fresh statistics at
    # 100,000 sites (564,000 open chains) that was 304,000 × 564,000 comparisons
    return Q(chain__in=open_now.union(changed, moved))


def outstanding(as_of: date, roots: Roots | None = None, by=("site_id", "operator_id"),
                within=None) -> dict[tuple, tuple[Decimal, int]]:
    """Receivable outstanding as of ``as_of`` (欠费): for every chain pushed on or before the
    day, its amount as of the day less what was written off as of the day; summed by the
    line fields ``by`` and the original's push date, with the number of chains that owe.
    Receipts dated after the day do not reduce it. ``within``: a (scoped) line queryset
    the chains must be in."""
    roots = roots or pushed_by(as_of)
    rows = versions(as_of, roots).filter(_maybe_open(as_of))
    if within is not None and within.query.where:      # the whole province needs no filter
        rows = rows.filter(pk__in=within.values("pk"))
    amount, group = {}, {}
    for chain_id, pushed, rec, *keys in rows.values_list(
            "chain", "chain_date", "receivable", *by).iterator(chunk_size=20000):
        amount[chain_id] = fen(rec)
        group[chain_id] = (*keys, pushed)
    off = _written_off_by_chain(as_of, rows)
    out: dict[tuple, tuple[Decimal, int]] = {}
    for chain_id, rec in amount.items():
        left = rec - off.get(chain_id, ZERO)
        if left:
            total, n = out.get(group[chain_id], (ZERO, 0))
            out[group[chain_id]] = (total + left, n + 1)
    return out


def _written_off_by_chain(as_of: date, version_rows) -> dict[int, Decimal]:
    """Written off as of ``as_of`` of the chains of ``version_rows``, by chain."""
    rows = live_applications(as_of).annotate(c=_chain_key("line__")).filter(
        c__in=version_rows.values("chain")).values("c").annotate(s=Sum("amount")) \
        .values_list("c", "s")
    return {c: fen(s) for c, s in rows.iterator(chunk_size=20000)}


def t0_counts(first: date, last: date) -> Iterator[tuple[int, int, int, int]]:
    """T+0 (DOMAIN.md §6): for bills paid from ``first`` to ``last``, per (site, operator),
    the allocation lines owed by operators and how many were pushed on the bill's paid date.
    Adjustment, lump-sum and program lines are in neither count, nor are tower-borne ones
    (a lump-sum tenancy's metered share is never pushed); lines held by an audit finding
    are in the base and, pushed late, a miss."""
    rows = LineQuerySet(model=Line).exclude(line_state("tower")).filter(
        operator__isnull=False, kind=Line.Kind.ALLOCATION, bill__paid_date__gte=first,
        bill__paid_date__lte=last).values("site_id", "operator_id").annotate(
        n=Count("pk"), t0=Count("pk", filter=Q(push_date=F("bill__paid_date")))) \
        .values_list("site_id", "operator_id", "n", "t0")
    yield from rows.iterator(chunk_size=20000)


def chain(line: Line) -> list[Line]:
    """The line's whole receivable chain, original first: what it corrects and what
    corrects it."""
    root = line.chain_root_id
    return list(Line.objects.filter(Q(pk=root) | Q(root_id=root)).order_by("pk"))
