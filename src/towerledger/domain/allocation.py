"""分摊 Allocation of one paid bill over its sites and their tenancies (DOMAIN.md §3).

Pure functions on plain values: ``allocate`` turns a bill, the sites its account feeds
(each with its tenancies and dated rules) and a tax-factor lookup into one ``Line`` per
tenancy that overlaps the period plus one tower-borne (铁塔自担) line per site.
``lump_sum_line`` prices a lump-sum (包干) tenancy's own monthly line.

The algorithm, all in exact ``Fraction`` arithmetic until the final rounding:

1. **Site split.** Site *s* takes ``split_ratio_s / Σ split_ratio`` of the bill (the splits
   of an account sum to 100, so this is ``split_ratio / 100``; other totals are
   renormalised and flagged ``SPLIT``).
2. **Day runs.** The period is cut at every date where something can change: a rule's
   ``effective_from``, each tenancy's first active day and the day after its last, and
   (FIXED_RATIO) the day a tenancy's dated agreed ratio changes. Each
   run of days between cuts has one rule in force and one set of active tenancies, so it is
   computed once and weighted by its length — the same result as going day by day, without
   per-day work. A tenancy's share of the site is the mean of its daily shares over all the
   period's days: Σ over runs of (run days / period days) × its share of each day.
3. **Rule in force.** Per day the rule with the latest ``effective_from`` on or before it
   (several rules on the same date: the largest by (method, fallback, policy, tower share),
   flagged ``DUPLICATE_RULE``); no rule → EQUAL with no tower share. A rule's
   ``tower_share`` percent (clamped to 0..100) of each of its days is taken off first as
   the tower's own load.
4. **Methods.** FIXED_RATIO the ``agreed_ratio`` in force that day (dated ``ratios``; a
   sum other than 100 among the active tenancies is renormalised and flagged
   ``RATIO_SUM``), EQUAL 1, DC_CURRENT ``dc_current_a``,
   RATED_POWER ``rated_power_w``, renormalised over the tenancies active that day. A day
   whose weights are all zero is tower-borne (flag ``ZERO_WEIGHT``); a day with no active
   tenancy is tower-borne (vacancy).
5. **Fallback.** Fallback is decided per rule for this bill: if any tenancy active on the
   rule's days lacks the rule method's input (FIXED_RATIO: no or negative ratio;
   DC_CURRENT / RATED_POWER: no or non-positive value; SUBMETER: no or negative reading,
   or the bill has no kWh), the whole site uses the rule's ``fallback_method`` on those
   days (flag ``FALLBACK`` naming the tenancies); if the fallback lacks input too, EQUAL.
   With one rule in force over the period — the usual case — this is exactly "the whole
   site falls back for this bill".
6. **SUBMETER** mixes a period quantity (sub-metered kWh) into the day-by-day scheme thus:
   the site's kWh ``K = bill.kwh × site split`` is spread evenly over the period's days.
   On the SUBMETER rule's days (a segment of ``n`` days, normally the whole period) a
   tenancy's metered kWh ``m`` counts in proportion to its active days inside the segment
   (all of it when the rule covers the whole period). Each day of the segment is then
   ``tower_share`` (tower's own load) + the tenancies' metered kWh ``Σm / (K·n/D)`` + a
   common rest ``c``. The metered part of each tenancy is its own (``m / K`` of the site);
   the common part of each day goes to the tenancies active that day by ``common_policy``:
   PRO_RATA to their metered kWh, EQUAL per tenancy-day, TOWER_BEARS to the tower; a day
   with nobody active leaves its common part to the tower. A negative rest (metered more
   than the site's kWh after the tower's share) is flagged ``NEGATIVE_COMMON`` and the
   segment's non-tower part goes to the tenancies in proportion to their metered kWh.
7. **Lump sum.** A LUMP_SUM tenancy takes part in the split like anyone else (so the
   others do not pay more), but its exact share is added to the site's tower-borne part;
   its own line keeps share, cost share and receivable 0 and its trace tells where its
   metered share went. It pays through ``lump_sum_line`` instead.
8. **Rounding.** ``money.largest_remainder`` in two steps, each exact: the bill's amount
   over its sites by split ratio (sites by code — the same split the payment posted as
   each site's advance, so a site's allocated total always equals its advance), then each
   site's amount over its lines, keys in this order: tenancy lines by ascending tenancy
   code (``tenancy_id``, the business code — never the database key, so the same data
   imported in any order gives the same lines), then the site's tower-borne line — so
   leftover fen ties go to the lower tenancy code and tower-borne comes last. Cost shares therefore sum exactly to the amount. Per line: ``tax_amount = fen(cost_share ×
   f)`` (RESALE only, ``f`` to 4 places from the caller's ``tax_factor``) and
   ``receivable = cost_share + tax_amount`` (RESALE), ``cost_share`` (ON_BEHALF), 0
   (LUMP_SUM, tower-borne). ``share`` is the exact share of the bill to 6 places, half-up.

Input order does not matter: tenancies are sorted by code and rules by date before use,
and site order only decides the order of lines and of the tower-borne rows among
themselves (which never outrank a tenancy in a tie).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from itertools import pairwise

from towerledger.domain import explain as _explain
from towerledger.domain.codes import CommonPolicy, Method, SettlementMode
from towerledger.domain.money import fen, largest_remainder, round_half_up

ZERO = Fraction(0)
ONE = Fraction(1)
DAY = timedelta(days=1)

# The tenancy field each weighted method reads (EQUAL reads none).
_INPUT = {
    Method.FIXED_RATIO: "agreed_ratio",
    Method.DC_CURRENT: "dc_current_a",
    Method.RATED_POWER: "rated_power_w",
    Method.SUBMETER: "submeter_kwh",
}

_METHOD = Method._value2member_map_   # a value (or member) → its member, checked by _check

TOWER_REASONS = _explain.TOWER_REASONS   # why a part of a site is tower-borne


@dataclass(frozen=True)
class TenancyIn:
    key: int                 # tenancy primary key: identifies the line, never orders it
    tenancy_id: str          # the business code: ties in rounding go to the lower one
    operator: str            # operator code e.g. "CMCC"
    start: date
    end: date | None         # inclusive; None = open
    mode: str                # SettlementMode value
    agreed_ratio: Decimal | None = None   # percent
    dc_current_a: Decimal | None = None
    rated_power_w: Decimal | None = None
    submeter_kwh: Decimal | None = None   # sub-metered kWh for this bill's period at this site
    # dated agreed ratios ((effective_from, percent), …): when given, they replace
    # ``agreed_ratio`` — the ratio on a day is the latest on or before it, none before the
    # first (the tenancy then lacks FIXED_RATIO's input on those days)
    ratios: tuple[tuple[date, Decimal], ...] = ()


@dataclass(frozen=True)
class RuleIn:
    effective_from: date
    method: str              # Method value
    fallback_method: str = "EQUAL"
    common_policy: str = "PRO_RATA"       # CommonPolicy value, SUBMETER only
    tower_share: Decimal = Decimal("0")   # percent taken off first as tower's own load


@dataclass(frozen=True)
class SiteIn:
    site_code: str
    split_ratio: Decimal     # percent of the account's bill for this site
    tenancies: tuple[TenancyIn, ...]
    rules: tuple[RuleIn, ...]


@dataclass(frozen=True)
class BillIn:
    bill_no: str
    amount: Decimal          # yuan, 2 places, >= 0
    kwh: Decimal | None      # None for lump-sum landlord bills
    start: date
    end: date                # inclusive


@dataclass(frozen=True)
class Line:
    site_code: str
    tenancy_key: int | None  # None = tower-borne row of that site
    tenancy_id: str | None
    operator: str | None
    mode: str | None
    active_days: int         # tower-borne rows: the period's days
    share: Decimal           # share of the whole bill, 6 places, half-up
    cost_share: Decimal      # fen; a bill's cost shares sum exactly to its amount
    tax_factor: Decimal      # 4 places; 0 unless RESALE
    tax_amount: Decimal      # fen
    receivable: Decimal      # fen
    trace: dict              # JSON-serialisable explanation, with text_zh / text_en


@dataclass(frozen=True)
class Allocation:
    bill_no: str
    lines: tuple[Line, ...]
    flags: tuple[tuple[str, str, str], ...]   # (site_code, code, message)


# ---- internal working state ------------------------------------------------------------


@dataclass
class _Part:
    """One tenancy active on at least one day of the period, and its share of its site."""

    t: TenancyIn
    first: date
    last: date
    days: int
    share: Fraction = ZERO                       # exact share of the site
    runs: list = field(default_factory=list)     # trace of how the share was built


@dataclass
class _Site:
    site: SiteIn
    frac: Fraction                               # exact share of the bill
    parts: list[_Part]
    tower: dict = field(default_factory=dict)    # reason -> exact share of the site
    runs: list = field(default_factory=list)     # site-level trace of methods per run
    flags: list = field(default_factory=list)
    # what every line of the site repeats, built once: the trace's common part
    base: dict | None = None
    lines: int = 0                               # lines of the whole bill (rounding note)
    amount: Fraction | None = None

    def flag(self, code: str, message: str) -> None:
        self.flags.append((self.site.site_code, code, message))

    def to_tower(self, reason: str, x: Fraction) -> None:
        if x:
            self.tower[reason] = self.tower.get(reason, ZERO) + x

    def tower_share(self) -> Fraction:
        return sum(self.tower.values(), ZERO)


def _span(a: date, b: date) -> int:
    return (b - a).days + 1


def _overlap(a1: date, b1: date, a2: date, b2: date) -> int:
    return max(0, _span(max(a1, a2), min(b1, b2)))


def _active(t: TenancyIn, start: date, end: date) -> tuple[date, date, int] | None:
    """The tenancy's first and last active day within start..end, and their count."""
    first = max(t.start, start)
    last = end if t.end is None else min(t.end, end)
    return (first, last, _span(first, last)) if first <= last else None


# ---- public API ------------------------------------------------------------------------


def allocate(bill: BillIn, sites: Sequence[SiteIn],
             tax_factor: Callable[[str], Decimal], explain: bool = True) -> Allocation:
    """Split a paid bill into tenancy lines and tower-borne lines (see the module doc).

    ``explain`` False: the traces carry the numbers only, not the sentences nor the rounding
    note (``domain.explain`` renders them when read); the bulk path stores them so."""
    _check(bill, sites)
    total_split = sum((_exact(s.split_ratio) for s in sites), ZERO)
    worked = [_share_site(bill, s, _exact(s.split_ratio) / total_split) for s in sites]
    if total_split != 100:
        worked[0].flag("SPLIT", f"site splits sum to {_num(total_split)}%, not 100%: "
                                "renormalised")
    exact = _exact_shares(worked)
    costs = _round_costs(bill.amount, worked, exact)
    factors: dict[str, Decimal] = {}

    def factor(op: str) -> Decimal:
        if op not in factors:
            factors[op] = round_half_up(tax_factor(op), 4)
        return factors[op]

    lines = []
    for w in worked:
        w.lines = len(exact)
    for w in worked:
        for p in w.parts:
            lines.append(_tenancy_line(bill, w, p, exact, costs, factor, explain))
        lines.append(_tower_line(bill, w, exact, costs, explain))
    flags = tuple(f for w in worked for f in w.flags)
    return Allocation(bill.bill_no, tuple(lines), flags)


def lump_sum_line(t: TenancyIn, monthly: Decimal, month_start: date,
                  month_end: date) -> tuple[Decimal, int, dict]:
    """A LUMP_SUM tenancy's monthly line: ``monthly`` prorated by its active days in the
    month, half-up to the fen. Returns (amount, active_days, trace)."""
    if month_end < month_start:
        raise ValueError("month ends before it starts")
    if monthly < 0:
        raise ValueError("lump sum must not be negative")
    month_days = _span(month_start, month_end)
    act = _active(t, month_start, month_end)
    days = act[2] if act else 0
    amount = fen(Fraction(monthly) * days / month_days)
    period = f"{month_start.isoformat()}..{month_end.isoformat()}"
    active = [act[0].isoformat(), act[1].isoformat()] if act else []
    trace = {
        "kind": "LUMP_SUM", "tenancy_id": t.tenancy_id, "operator": t.operator,
        "period": [month_start.isoformat(), month_end.isoformat()], "days": month_days,
        "active": active, "active_days": days, "monthly": str(monthly),
        "amount": str(amount), "rounding": "half-up to the fen",
        "text_zh": (f"{t.operator}租户{t.tenancy_id}包干电费：{period}共{month_days}天，在网"
                    f"{days}天，月包干额{monthly}元 × {days}/{month_days} = {amount}元（四舍五入到分）。"),
        "text_en": (f"Lump sum of {t.operator} tenancy {t.tenancy_id} for {period} "
                    f"({month_days} days): active {days} days, monthly {monthly} yuan × "
                    f"{days}/{month_days} = {amount} yuan (half-up to the fen)."),
    }
    return amount, days, trace


# ---- validation ------------------------------------------------------------------------


def _check(bill: BillIn, sites: Sequence[SiteIn]) -> None:
    if bill.end < bill.start:
        raise ValueError(f"bill {bill.bill_no} ends before it starts")
    if bill.amount < 0:
        raise ValueError(f"bill {bill.bill_no} has a negative amount")
    if not sites:
        raise ValueError(f"bill {bill.bill_no} feeds no site")
    codes = [s.site_code for s in sites]
    if len(set(codes)) != len(codes):
        raise ValueError(f"bill {bill.bill_no}: a site appears twice")
    keys = [t.key for s in sites for t in s.tenancies]
    if len(set(keys)) != len(keys):
        raise ValueError(f"bill {bill.bill_no}: a tenancy appears twice")
    if any(s.split_ratio < 0 for s in sites) or sum(s.split_ratio for s in sites) <= 0:
        raise ValueError(f"bill {bill.bill_no}: site splits must be >= 0 and not all 0")
    for s in sites:
        for t in s.tenancies:
            _valid(SettlementMode, t.mode)
        for r in s.rules:
            _valid(Method, r.method)
            _valid(Method, r.fallback_method)
            _valid(CommonPolicy, r.common_policy)


def _valid(codes, value) -> None:
    """``codes(value)``'s check (its ValueError for a value it does not know), without
    the Enum call for the known ones: a dict lookup, a few times per line."""
    try:
        if value in codes._value2member_map_:
            return
    except TypeError:   # unhashable
        pass
    codes(value)


# ---- one site: exact shares ------------------------------------------------------------


def _share_site(bill: BillIn, site: SiteIn, frac: Fraction) -> _Site:
    """Exact shares of the site's tenancies and tower-borne part (they sum to 1)."""
    parts = []
    for t in sorted(site.tenancies, key=_order):
        act = _active(t, bill.start, bill.end)
        if act:
            parts.append(_Part(t, *act))
    w = _Site(site, frac, parts)
    period_days = _span(bill.start, bill.end)
    for rule, a, b in _rule_segments(w, bill.start, bill.end):
        present = [p for p in parts if _overlap(p.first, p.last, a, b)]
        method = _resolve_method(w, rule, present, bill, a, b)
        runs = list(_runs(parts, a, b, dated=method == Method.FIXED_RATIO))
        if method == Method.SUBMETER:
            _submeter_segment(w, bill, rule, runs, present, period_days)
        else:
            for run in runs:
                _weighted_run(w, rule, method, run, period_days)
    for p in parts:
        if p.t.mode == SettlementMode.LUMP_SUM:
            w.to_tower("lump_sum", p.share)
    return w


def _rule_segments(w: _Site, start: date, end: date):
    """(rule or None, first day, last day) for each stretch of the period under one rule."""
    if len(w.site.rules) < 2:   # most sites: what the general case below gives, directly
        r = w.site.rules[0] if w.site.rules else None
        if r is None or r.effective_from > end:
            return [(None, start, end)]
        if r.effective_from <= start:
            return [(r, start, end)]
        return [(None, start, r.effective_from - DAY), (r, r.effective_from, end)]
    by_date: dict[date, RuleIn] = {}
    doubled: set[date] = set()
    for r in set(w.site.rules):
        other = by_date.get(r.effective_from)
        if other is not None:
            doubled.add(r.effective_from)
        if other is None or _rule_order(r) > _rule_order(other):
            by_date[r.effective_from] = r
    in_force = None
    starts = [start]
    for d in sorted(by_date):
        if d <= start:
            in_force = by_date[d]
        elif d <= end:
            starts.append(d)
    rules = [in_force] + [by_date[d] for d in starts[1:]]
    for d in sorted(doubled & {r.effective_from for r in rules if r is not None}):
        w.flag("DUPLICATE_RULE", f"several rules effective {d.isoformat()}: the last in "
                                 "(method, fallback, policy, tower share) order applies")
    ends = [d - DAY for d in starts[1:]] + [end]
    return list(zip(rules, starts, ends, strict=True))


def _rule_order(r: RuleIn) -> tuple:
    return (r.method, r.fallback_method, r.common_policy, Decimal(r.tower_share))


def _order(t: TenancyIn) -> tuple:
    """Tenancies in business order: by tenancy code (then key, for a code twice in a test)."""
    return (t.tenancy_id, t.key)


def _ratio_on(t: TenancyIn, day: date) -> Decimal | None:
    """The tenancy's agreed ratio in force on ``day`` (its latest dated one on or before)."""
    if not t.ratios:
        return t.agreed_ratio
    found = None
    for since, ratio in sorted(t.ratios):
        if since > day:
            break
        found = ratio
    return found


def _ratio_days(t: TenancyIn, a: date, b: date) -> list[date]:
    """The days in a..b a dated ratio of ``t`` takes effect (where a run must be cut)."""
    return [d for d, _ in t.ratios if a < d <= b]


def _runs(parts: list[_Part], a: date, b: date, dated: bool = False):
    """(first, last, days, active parts) for each run of days in a..b with no boundary:
    a tenancy starting or ending, and (``dated``, FIXED_RATIO) an agreed ratio changing."""
    cuts = {a, b + DAY}
    for p in parts:
        if a < p.first <= b:
            cuts.add(p.first)
        if a <= p.last < b:
            cuts.add(p.last + DAY)
        if dated:
            cuts.update(_ratio_days(p.t, max(a, p.first), min(b, p.last)))
    for x, y in pairwise(sorted(cuts)):
        yield x, y - DAY, (y - x).days, [p for p in parts if p.first <= x <= p.last]


def _missing(method: str, present: list[_Part], bill: BillIn, a: date, b: date) -> list[str]:
    """Why ``method`` cannot be used: the tenancies (or the bill) lacking its input."""
    if method == Method.EQUAL:
        return []
    name = _INPUT[method]
    out = [] if method != Method.SUBMETER or (bill.kwh is not None and bill.kwh >= 0) \
        else ["bill kwh"]
    strict = method in (Method.DC_CURRENT, Method.RATED_POWER)
    for p in present:
        if method == Method.FIXED_RATIO:   # every ratio in force on its days a..b
            first = max(a, p.first)
            values = [_ratio_on(p.t, d) for d in [first, *_ratio_days(p.t, first,
                                                                      min(b, p.last))]]
        else:
            values = [getattr(p.t, name)]
        if any(v is None or v < 0 or (strict and v == 0) for v in values):
            out.append(f"{p.t.tenancy_id} ({p.t.operator}) {name}")
    return out


def _resolve_method(w: _Site, rule: RuleIn | None, present: list[_Part], bill: BillIn,
                    a: date, b: date) -> str:
    if rule is None:
        return Method.EQUAL
    chain = list(dict.fromkeys([_METHOD[rule.method], _METHOD[rule.fallback_method],
                                Method.EQUAL]))
    for method, nxt in pairwise(chain):
        lacking = _missing(method, present, bill, a, b)
        if not lacking:
            return method
        w.flag("FALLBACK", f"{method} -> {nxt} for {a.isoformat()}..{b.isoformat()}: "
                           f"missing {', '.join(lacking)}")
    return Method.EQUAL


@lru_cache(maxsize=4096)
def _exact(x) -> Fraction:
    """``Fraction(x)`` of a Decimal or int, remembered: the same few split ratios, agreed
    ratios and tower shares recur in every bill, and converting a Decimal is slow. (Equal
    numbers give equal Fractions, so it does not matter which of them was seen first.)"""
    return Fraction(x)


@lru_cache(maxsize=1024)
def _tower_part(percent) -> Fraction:
    return min(ONE, max(ZERO, _exact(percent) / 100))


@lru_cache(maxsize=1024)
def _tower_text(percent) -> str:
    """A rule's tower share as its trace writes it (the clamped percent), remembered."""
    return _num(_tower_part(percent) * 100)


@lru_cache(maxsize=4096)
def _weight_text(x: Fraction) -> str:
    """A weight as a trace writes it: the same few ratios, currents and powers recur."""
    return _num(x)


def _tower_fraction(rule: RuleIn | None) -> Fraction:
    if rule is None:
        return ZERO
    return _tower_part(rule.tower_share)


def _weight(method: str, t: TenancyIn, day: date) -> Fraction:
    if method == Method.EQUAL:
        return ONE
    if method == Method.FIXED_RATIO:
        return _exact(_ratio_on(t, day))
    return _exact(getattr(t, _INPUT[method]))


def _run_trace(rule: RuleIn | None, method: str, first: date, last: date, days: int,
               active: list[_Part]) -> dict:
    return {
        "from": first.isoformat(), "to": last.isoformat(), "days": days,
        "rule_from": rule.effective_from.isoformat() if rule else "",
        "rule_method": rule.method if rule else "",
        "method": str(method),
        "tower_share": _tower_text(rule.tower_share) if rule else "0",
        "active": [p.t.tenancy_id for p in active],
    }


def _weighted_run(w: _Site, rule: RuleIn | None, method: str, run, period_days: int) -> None:
    """Share one run of days by FIXED_RATIO / EQUAL / DC_CURRENT / RATED_POWER weights."""
    first, last, days, active = run
    length = Fraction(days, period_days)
    tr = _run_trace(rule, method, first, last, days, active)
    w.runs.append(tr)
    if not active:
        w.to_tower("vacant", length)
        return
    ts = _tower_fraction(rule)
    if ts:
        w.to_tower("own_load", length * ts)
    weights = [(p, _weight(method, p.t, first)) for p in active]
    total = sum((x for _, x in weights), ZERO)
    tr["weights"] = [[p.t.tenancy_id, _weight_text(x)] for p, x in weights]
    if method == Method.FIXED_RATIO and total not in (0, 100):
        w.flag("RATIO_SUM", f"{first.isoformat()}..{last.isoformat()}: agreed ratios of "
                            f"{', '.join(p.t.tenancy_id for p in active)} sum to "
                            f"{_num(total)}%, renormalised")
    if total == 0:
        w.to_tower("zero_weight", length * (1 - ts))
        w.flag("ZERO_WEIGHT", f"{first.isoformat()}..{last.isoformat()}: all {method} "
                              "weights are zero, tower-borne")
        return
    scale = (1 - ts if ts else ONE) / total   # exact: (1 - ts) × x / total = x × scale
    name = str(method)
    for p, x in weights:
        daily = x * scale
        p.share += length * daily
        p.runs.append({"from": tr["from"], "to": tr["to"], "days": days, "method": name,
                       "share_of_day": _frac(daily)})


def _submeter_segment(w: _Site, bill: BillIn, rule: RuleIn, runs: list, present: list[_Part],
                      period_days: int) -> None:
    """Share a SUBMETER rule's days: own metered kWh plus the common rest (module doc §6)."""
    seg_days = sum(r[2] for r in runs)
    first, last = runs[0][0], runs[-1][1]
    length = Fraction(seg_days, period_days)
    ts = _tower_fraction(rule)
    site_kwh = Fraction(bill.kwh) * w.frac
    seg_kwh = site_kwh * length
    metered = {p.t.key: Fraction(p.t.submeter_kwh) * _overlap(p.first, p.last, first, last)
               / p.days for p in present}
    total_m = sum(metered.values(), ZERO)
    policy = CommonPolicy(rule.common_policy)
    common = seg_kwh * (1 - ts) - total_m          # kWh of the segment
    tr = _run_trace(rule, Method.SUBMETER, first, last, seg_days, present)
    tr.update({"common_policy": str(policy), "site_kwh": _num(seg_kwh, 2),
               "metered_kwh": [[p.t.tenancy_id, _num(metered[p.t.key], 2)] for p in present],
               "common_kwh": _num(common, 2)})
    w.runs.append(tr)
    w.to_tower("own_load", length * ts)
    if common < 0:
        w.flag("NEGATIVE_COMMON", f"{first.isoformat()}..{last.isoformat()}: metered "
                                  f"{_num(total_m, 2)} kWh exceeds site {_num(seg_kwh, 2)} kWh "
                                  "less the tower's share; shared by metered kWh")
        for p in present:
            own = length * (1 - ts) * metered[p.t.key] / total_m
            p.share += own
            p.runs.append({"from": first.isoformat(), "to": last.isoformat(),
                           "days": seg_days, "method": "SUBMETER",
                           "metered_kwh": _num(metered[p.t.key], 2),
                           "own_share": _frac(own), "common_share": "0"})
        return
    if seg_kwh == 0:                               # no kWh at all and nothing metered
        w.to_tower("zero_weight", length * (1 - ts))
        w.flag("ZERO_WEIGHT", f"{first.isoformat()}..{last.isoformat()}: site and "
                              "sub-meters show 0 kWh, tower-borne")
        return
    own = {k: m / site_kwh for k, m in metered.items()}   # = length × m / seg_kwh
    per_day = common / seg_kwh                               # common fraction of each day
    common_of = _spread_common(w, policy, runs, metered, per_day, period_days)
    for p in present:
        p.share += own[p.t.key] + common_of.get(p.t.key, ZERO)
        p.runs.append({"from": first.isoformat(), "to": last.isoformat(), "days": seg_days,
                       "method": "SUBMETER", "metered_kwh": _num(metered[p.t.key], 2),
                       "own_share": _frac(own[p.t.key]),
                       "common_share": _frac(common_of.get(p.t.key, ZERO))})


def _spread_common(w: _Site, policy: str, runs: list, metered: dict, per_day: Fraction,
                   period_days: int) -> dict:
    """Each run's common load to the tenancies active then, by ``policy``; rest to tower."""
    out: dict[int, Fraction] = {}
    for first, last, days, active in runs:
        piece = Fraction(days, period_days) * per_day
        if not piece:
            continue
        if not active:
            w.to_tower("vacant", piece)
            continue
        if policy == CommonPolicy.TOWER_BEARS:
            w.to_tower("common", piece)
            continue
        if policy == CommonPolicy.EQUAL:
            weights = {p.t.key: ONE for p in active}
        else:
            weights = {p.t.key: metered[p.t.key] for p in active}
        total = sum(weights.values(), ZERO)
        if total == 0:
            w.to_tower("zero_weight", piece)
            w.flag("ZERO_WEIGHT", f"{first.isoformat()}..{last.isoformat()}: no metered "
                                  "kWh to spread the common load by, tower-borne")
            continue
        for k, x in weights.items():
            out[k] = out.get(k, ZERO) + piece * x / total
    return out


# ---- all sites: rounding and lines -----------------------------------------------------


def _exact_shares(worked: list[_Site]) -> dict:
    """Exact shares of the bill, keyed and ordered for largest_remainder: tenancies by
    ascending code (then site code) across all sites, then tower-borne rows in site order."""
    tenancy = sorted(((p.t.key, w, p) for w in worked for p in w.parts),
                     key=lambda x: (x[2].t.tenancy_id, x[1].site.site_code, x[0]))
    out: dict = {}
    for key, w, p in tenancy:
        out[key] = ZERO if p.t.mode == SettlementMode.LUMP_SUM else _of_bill(w, p.share)
    for w in worked:
        out[("tower", w.site.site_code)] = _of_bill(w, w.tower_share())
    return out


def _of_bill(w: _Site, x: Fraction) -> Fraction:
    """A share of the site as a share of the bill (the site's whole bill: itself)."""
    return x if w.frac == ONE else w.frac * x


def _round_costs(amount: Decimal, worked: list[_Site], exact: dict) -> dict:
    """Fen per line, in two steps that both sum exactly: the bill over its sites by split
    (sites by code, as the payment splits its advance, so each site's allocation equals the
    advance paid for it), then each site's amount over its lines (tenancies by ascending
    code, tower-borne last)."""
    by_code = sorted(worked, key=lambda w: w.site.site_code)
    site_amounts = largest_remainder(amount, [(w.site.site_code, w.frac) for w in by_code])
    costs: dict = {}
    for w in by_code:
        keys = [p.t.key for p in sorted(w.parts, key=lambda p: _order(p.t))]
        weights = [(k, exact[k]) for k in keys] + [(("tower", w.site.site_code),
                                                    exact[("tower", w.site.site_code)])]
        costs.update(largest_remainder(site_amounts[w.site.site_code], weights))
    return costs


def _amount(bill: BillIn, w: _Site) -> Fraction:
    """The bill's amount as a Fraction, converted once per site."""
    if w.amount is None:
        w.amount = Fraction(bill.amount)
    return w.amount


def _base_trace(bill: BillIn, w: _Site) -> dict:
    """The part of the trace every line of the site shares (a fresh dict each time; its
    lists are shared, and only ever serialised)."""
    if w.base is None:
        w.base = _site_trace(bill, w)
    return dict(w.base)


def _site_trace(bill: BillIn, w: _Site) -> dict:
    return {
        "bill_no": bill.bill_no,
        "period": [bill.start.isoformat(), bill.end.isoformat()],
        "days": _span(bill.start, bill.end),
        "amount": str(bill.amount),
        "kwh": "" if bill.kwh is None else str(bill.kwh),
        "site_code": w.site.site_code,
        "site_split": str(w.site.split_ratio),
        "site_share": _frac(w.frac),
        "tenancies": [[p.t.tenancy_id, p.t.operator, p.days, p.first.isoformat(),
                       p.last.isoformat()] for p in w.parts],
        "runs": w.runs,
        "lines": w.lines,
    }


def _tenancy_line(bill: BillIn, w: _Site, p: _Part, exact: dict, costs: dict,
                  factor: Callable[[str], Decimal], explain: bool = True) -> Line:
    t = p.t
    lump = t.mode == SettlementMode.LUMP_SUM
    share = exact[t.key]
    cost = costs[t.key]
    f = factor(t.operator) if t.mode == SettlementMode.RESALE else Decimal("0.0000")
    tax = fen(cost * f) if t.mode == SettlementMode.RESALE else Decimal("0.00")
    receivable = Decimal("0.00") if lump else cost + tax
    metered = share if not lump else w.frac * p.share   # its metered share of the bill
    share6 = round_half_up(share, 6)
    trace = _base_trace(bill, w)
    trace.update({
        "tenancy_id": t.tenancy_id, "operator": t.operator, "mode": t.mode,
        "active": [p.first.isoformat(), p.last.isoformat()], "active_days": p.days,
        "daily_shares": p.runs, "exact_share_of_site": _frac(p.share),
        "exact_share": _frac(metered), "share": str(share6),
        "cost_share": str(cost), "tax_factor": str(f), "tax_amount": str(tax),
        "receivable": str(receivable),
    })
    if lump:
        trace["to_tower_borne"] = _frac(metered)
        trace["to_tower_borne_yuan"] = _num(_amount(bill, w) * metered, 6)
    if explain:
        _say(trace, bill, w, share, cost, len(exact))
    return Line(w.site.site_code, t.key, t.tenancy_id, t.operator, t.mode, p.days,
                share6, cost, f, tax, receivable, trace)


def _tower_line(bill: BillIn, w: _Site, exact: dict, costs: dict, explain: bool = True) -> Line:
    key = ("tower", w.site.site_code)
    share, cost = exact[key], costs[key]
    share6 = round_half_up(share, 6)
    trace = _base_trace(bill, w)
    trace.update({
        "tower_borne": [[reason, _frac(w.frac * w.tower[reason])]
                        for reason in TOWER_REASONS if reason in w.tower],
        "exact_share": _frac(share), "share": str(share6),
        "cost_share": str(cost), "tax_factor": "0.0000", "tax_amount": "0.00",
        "receivable": "0.00",
    })
    if explain:
        _say(trace, bill, w, share, cost, len(exact))
    days = _span(bill.start, bill.end)
    return Line(w.site.site_code, None, None, None, None, days, share6, cost,
                Decimal("0.0000"), Decimal("0.00"), Decimal("0.00"), trace)


# ---- human explanations ----------------------------------------------------------------
# The sentences are domain.explain's, rendered from the trace's numbers (one function says
# each); the number formats are its too.

_frac, _num, _pct = _explain.frac, _explain.num, _explain.pct


def _say(trace: dict, bill: BillIn, w: _Site, exact: Fraction, cost: Decimal, n: int) -> None:
    """Add the rounding note and the sentences to a whole trace."""
    trace["rounding"] = _explain.rounding_note(_amount(bill, w), exact, cost, n)
    trace["text_en"], trace["text_zh"] = _explain.render(trace)
