"""A naive reference of the monthly KPIs (DOMAIN.md §6, notes/kpi-contract.md), written
apart from the product's analysis code so the two can be compared figure by figure.

It reads the raw rows only — each line's plain columns, each application with its
receipt's date, each receipt — into plain records (``load``), then walks them one by one
in Python (``compute_from``): no SQL aggregation, no product query helper, nothing
clever. Slow on purpose and easy to check by eye.

Rules, in the contract's words (D = the report date, E = the month's last day):
* only lines with an operator count; a chain is an original line and the adjustments
  that replace it, in the month its original was pushed;
* a chain's version as of X is its deepest line pushed on or before X, its amount that
  line's receivable; it is confirmed as of X when that line's confirmed_at (local date)
  is on or before X; a chain with no line pushed by X does not exist at X;
* an application is written off as of X when its receipt is dated on or before X and it
  is not reversed on or before X; a chain's written off is the sum over all its lines.

Choices where the contract is silent (reported to the lead, see issue 11):
* ``written_off_amount``, ``outstanding``, ``year_written_off`` sum only over the chains
  that exist at the date their amount is taken (D, E, D), like ``chains_amount``;
* an ALLOCATION line of a LUMP_SUM tenancy (receivable 0, never pushed: its metered
  share is tower-borne) is not in T+0 — it is the lump-sum line that is pushed;
* a receipt with no city counts on the province rows of the only province there is.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

ZERO = Decimal("0.00")
AGE_BUCKETS = (("age_0_30", 30), ("age_31_60", 60), ("age_61_90", 90),
               ("age_91_180", 180), ("age_181_365", 365), ("age_gt_365", None))
COUNTS = ("chains", "t0_lines", "t0_base")
AMOUNTS = ("chains_amount", "confirmed_amount", "deemed_amount", "written_off_amount",
           "outstanding", *(name for name, _ in AGE_BUCKETS), "arrears_base",
           "receipts_amount", "receipts_applied", "year_receivable", "year_written_off")
FIGURES = COUNTS + AMOUNTS
LEVELS = ("PROVINCE", "CITY", "COUNTY", "SITE")


@dataclass(frozen=True)
class LineFact:
    id: int
    kind: str                  # ALLOCATION, LUMP_SUM, ADJUSTMENT
    adjusts_id: int | None
    mode: str                  # RESALE, ON_BEHALF, LUMP_SUM; "" when tower-borne
    operator: str | None       # None: tower-borne
    province: str
    city: str
    county: str
    site: str
    push_date: date | None
    receivable: Decimal
    confirmed_on: date | None  # local date of confirmed_at
    deemed: bool
    paid_date: date | None     # the bill's paid date (None: a line without a paid bill)


@dataclass(frozen=True)
class ApplicationFact:
    line_id: int
    receipt_id: int
    amount: Decimal
    received_date: date        # the receipt's
    reversed_on: date | None   # local date of reversed_at


@dataclass(frozen=True)
class ReceiptFact:
    id: int
    operator: str
    province: str | None
    city: str | None
    amount: Decimal
    received_date: date


@dataclass
class Facts:
    lines: list[LineFact]
    applications: list[ApplicationFact]
    receipts: list[ReceiptFact]


# ---- reading the raw rows -----------------------------------------------------------------

def load() -> Facts:
    """Every line, application and receipt of the database, as plain records."""
    from django.utils import timezone

    from towerledger.collection.models import Receipt
    from towerledger.org.models import Province
    from towerledger.settlement import models as settlement

    Line, Application = settlement.Line, application_model()

    def local_day(moment):
        return None if moment is None else timezone.localtime(moment).date()

    lines = [LineFact(
        r["id"], r["kind"], r["adjusts_id"], r["mode"], r["operator__code"],
        r["site__county__city__province__name"], r["site__county__city__name"],
        r["site__county__name"], r["site__site_code"], r["push_date"], r["receivable"],
        local_day(r["confirmed_at"]), r["deemed"], r["bill__paid_date"])
        for r in Line.objects.values(
            "id", "kind", "adjusts_id", "mode", "operator__code",
            "site__county__city__province__name", "site__county__city__name",
            "site__county__name", "site__site_code", "push_date", "receivable",
            "confirmed_at", "deemed", "bill__paid_date")]
    applications = [ApplicationFact(
        r["line_id"], r["receipt_id"], r["amount"], r["receipt__received_date"],
        local_day(r["reversed_at"]))
        for r in Application.objects.values("line_id", "receipt_id", "amount",
                                            "receipt__received_date", "reversed_at")]
    provinces = list(Province.objects.values_list("name", flat=True))
    only = provinces[0] if len(provinces) == 1 else None
    receipts = [ReceiptFact(
        r["id"], r["operator__code"],
        r["city__province__name"] if r["city__name"] else only, r["city__name"],
        r["amount"], r["received_date"])
        for r in Receipt.objects.values("id", "operator__code", "city__name",
                                        "city__province__name", "amount", "received_date")]
    return Facts(lines, applications, receipts)


def application_model():
    """The 核销 rows' model: moving from collection to settlement with issue 11."""
    from towerledger.settlement import models as settlement

    if hasattr(settlement, "Application"):
        return settlement.Application
    from towerledger.collection.models import Application

    return Application


# ---- the figures ----------------------------------------------------------------------------

def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def age_bucket(days: int) -> str:
    for name, upper in AGE_BUCKETS:
        if upper is None or days <= upper:
            return name
    raise AssertionError("unreachable")


def compute(month: date, as_of: date | None = None) -> list[dict]:
    """The reference rows of ``month`` as of ``as_of`` (default its last day), from the
    database as it is now."""
    return compute_from(load(), month, as_of)


class _Chain:
    """An original line and its adjustments, as (depth, line) pairs."""

    def __init__(self, root: LineFact):
        self.root = root
        self.versions: list[tuple[int, LineFact]] = []

    def version(self, day: date) -> LineFact | None:
        """The deepest line pushed on or before ``day``; None: the chain does not exist yet."""
        best = None
        for depth, line in self.versions:
            if line.push_date is not None and line.push_date <= day:
                if best is None or depth > best[0]:
                    best = (depth, line)
        return None if best is None else best[1]


def _chains(facts: Facts) -> list[_Chain]:
    by_id = {line.id: line for line in facts.lines}
    chains: dict[int, _Chain] = {}
    for line in facts.lines:
        if line.operator is None:
            continue                  # tower-borne: in no figure
        root, depth = line, 0
        while root.adjusts_id is not None:
            root, depth = by_id[root.adjusts_id], depth + 1
        chains.setdefault(root.id, _Chain(root)).versions.append((depth, line))
    return list(chains.values())


def _written_off(chain: _Chain, day: date, applications_of) -> Decimal:
    total = ZERO
    for _, line in chain.versions:
        for a in applications_of[line.id]:
            live = a.reversed_on is None or a.reversed_on > day
            if a.received_date <= day and live:
                total += a.amount
    return total


def _line_scopes(line: LineFact) -> list[tuple[str, str, str, str]]:
    keys = []
    for op in (line.operator, "*"):
        keys += [("PROVINCE", line.province, "", op),
                 ("CITY", line.city, line.province, op),
                 ("COUNTY", f"{line.city}/{line.county}", line.city, op)]
    keys.append(("SITE", line.site, line.city, "*"))
    return keys


def _receipt_scopes(r: ReceiptFact) -> list[tuple[str, str, str, str]]:
    keys = []
    for op in (r.operator, "*"):
        if r.province is not None:
            keys.append(("PROVINCE", r.province, "", op))
        if r.city is not None:
            keys.append(("CITY", r.city, r.province, op))
    return keys


def compute_from(facts: Facts, month: date, as_of: date | None = None) -> list[dict]:
    first, end = month_bounds(month)
    d = as_of or end
    year_start, year_end = date(first.year, 1, 1), date(first.year, 12, 31)
    rows: dict[tuple, dict] = {}

    def add(keys, name, value):
        for key in keys:
            figures = rows.setdefault(key, {n: 0 if n in COUNTS else ZERO for n in FIGURES})
            figures[name] += value

    applications_of = defaultdict(list)
    for a in facts.applications:
        applications_of[a.line_id].append(a)

    for chain in _chains(facts):
        root = chain.root
        if root.push_date is None:
            continue                  # never pushed: no version at any date
        keys = _line_scopes(root)
        now, at_end = chain.version(d), chain.version(end)
        if first <= root.push_date <= end:
            if now is not None:
                add(keys, "chains", 1)
                add(keys, "chains_amount", now.receivable)
                if now.confirmed_on is not None and now.confirmed_on <= d:
                    add(keys, "confirmed_amount", now.receivable)
                    if now.deemed:
                        add(keys, "deemed_amount", now.receivable)
                add(keys, "written_off_amount", _written_off(chain, d, applications_of))
            if at_end is not None:
                add(keys, "arrears_base", at_end.receivable)
        if at_end is not None:        # every chain pushed on or before E
            left = at_end.receivable - _written_off(chain, end, applications_of)
            add(keys, "outstanding", left)
            add(keys, age_bucket((end - root.push_date).days), left)
        if (root.kind == "ALLOCATION" and root.paid_date is not None
                and year_start <= root.paid_date <= end and now is not None):
            add(keys, "year_receivable", now.receivable)
            add(keys, "year_written_off", _written_off(chain, min(d, year_end),
                                                       applications_of))

    for line in facts.lines:          # T+0: allocation lines of bills paid in the month
        if (line.kind == "ALLOCATION" and line.operator is not None
                and line.mode != "LUMP_SUM" and line.paid_date is not None
                and first <= line.paid_date <= end):
            keys = _line_scopes(line)
            add(keys, "t0_base", 1)
            if line.push_date == line.paid_date:
                add(keys, "t0_lines", 1)

    applied_of = defaultdict(lambda: ZERO)
    for a in facts.applications:
        if a.reversed_on is None or a.reversed_on > d:
            applied_of[a.receipt_id] += a.amount
    for r in facts.receipts:
        if first <= r.received_date <= end:
            keys = _receipt_scopes(r)
            add(keys, "receipts_amount", r.amount)
            add(keys, "receipts_applied", applied_of[r.id])

    out = []
    for (level, key, parent, op), figures in rows.items():
        out.append({"level": level, "key": key, "parent": parent, "operator": op,
                    "figures": figures})
    out.sort(key=lambda r: (LEVELS.index(r["level"]), r["key"], r["operator"]))
    return out


def by_scope(rows) -> dict[tuple[str, str, str], dict]:
    """(level, key, operator) → figures, for rows of the reference or of the product."""
    return {(r["level"], r["key"], r["operator"]): r["figures"] for r in rows}


def rate(numerator, denominator) -> Decimal | None:
    """A ratio to 4 decimals, half up; None when the denominator is 0."""
    from decimal import ROUND_HALF_UP

    if not Decimal(denominator):
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"),
                                                                 rounding=ROUND_HALF_UP)
