"""油机发电 Generator dispatch (DOMAIN.md §7): the pure rules.

* ``run_cost``: a run's cost = fuel litres × fuel price (to the fen) + labour + transport.
* ``agreement_method``: the operators' agreement rule in force (EQUAL or DC_CURRENT), a
  dated setting per province and operator, default EQUAL.
* ``split_run``: a run's cost over the tenancies active at the site during the outage and
  the tower's own share (the site's allocation rule ``tower_share``, DOMAIN §3), summing
  exactly to the cost: largest remainder, ties by tenancy business code, tower last.
* ``audit_runs``: the audit rules of runs (hours longer than the outage, litres per hour
  beyond the generator's rating, no outage, two runs overlapping on one outage, the same run
  twice under different numbers), one ``RunFinding`` per rule that fires, with its figures.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from towerledger.domain.money import fen, largest_remainder

EQUAL, DC_CURRENT = "EQUAL", "DC_CURRENT"
METHODS = (EQUAL, DC_CURRENT)
METHOD_ZH = {EQUAL: "平均分摊", DC_CURRENT: "按直流负载电流"}
TOWER = "TOWER"            # the tower's own part (铁塔自担), always split last
BLOCK, WARN = "BLOCK", "WARN"
HUNDRED = Decimal(100)


def run_cost(litres: Decimal, fuel_price: Decimal, labour: Decimal = Decimal(0),
             transport: Decimal = Decimal(0)) -> Decimal:
    """发电费用: fuel (litres × price, rounded half-up to the fen) + labour + transport."""
    return fen(Decimal(litres) * Decimal(fuel_price)) + fen(labour or 0) + fen(transport or 0)


# ---- the agreement rule -----------------------------------------------------------------

@dataclass(frozen=True)
class RuleRow:
    """One dated setting: ``province`` / ``operator`` None = every province / operator."""

    effective_from: date
    method: str
    province: object = None
    operator: object = None


def method_for(rows: Iterable[RuleRow], province, operator, on: date) -> str:
    """The method in force on ``on`` for ``operator`` in ``province``: the most specific row
    (operator's own beats all operators, province's own beats all provinces), then the
    latest; EQUAL when no row applies."""
    best = None
    for r in rows:
        if r.effective_from > on or r.province not in (None, province) \
                or r.operator not in (None, operator):
            continue
        rank = (r.operator is not None, r.province is not None, r.effective_from)
        if best is None or rank > best[0]:
            best = (rank, r.method)
    return best[1] if best else EQUAL


def agreement_method(rows: Sequence[RuleRow], province, operators: Iterable, on: date
                     ) -> tuple[str, bool]:
    """(method, mixed): the method the operators at a site agreed for ``on``. When their
    agreements differ the run is split EQUAL (one rule must hold for one cost) and ``mixed``
    says so in the explanation."""
    methods = {method_for(rows, province, op, on) for op in operators}
    if not methods:
        return EQUAL, False
    if len(methods) > 1:
        return EQUAL, True
    return methods.pop(), False


# ---- the split ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Party:
    """A tenancy active at the site during the outage (its business code and DC current)."""

    code: str
    dc_current_a: Decimal | None = None


@dataclass(frozen=True)
class Split:
    method: str                            # the method applied
    asked: str                             # the agreement's method
    weights: tuple[tuple[str, Decimal], ...]   # per tenancy, in code order
    tower_share: Decimal                   # percent taken off first for the tower
    shares: dict                           # tenancy code -> yuan, in code order
    tower: Decimal                         # the tower's part (yuan)
    fallback: str = ""                     # why the method fell back to EQUAL, if it did
    ratios: dict = field(default_factory=dict)   # tenancy code -> share of the cost (6 dp)

    @property
    def total(self) -> Decimal:
        return sum(self.shares.values(), Decimal("0.00")) + self.tower


def split_run(cost: Decimal, parties: Sequence[Party], method: str = EQUAL,
              tower_share: Decimal = Decimal(0)) -> Split:
    """Split ``cost`` over ``parties`` by ``method`` after the tower's ``tower_share`` (%).

    DC_CURRENT with a tenancy lacking its current (or all currents zero) falls back to
    EQUAL, and says so. No party: the tower bears the whole cost. The parts sum exactly to
    ``cost`` (largest remainder; ties by ascending tenancy code, the tower last)."""
    if method not in METHODS:
        raise ValueError(f"unknown generator split method {method}")
    cost = fen(cost)
    ts = Decimal(tower_share or 0)
    if not 0 <= ts <= HUNDRED:
        raise ValueError(f"tower share {ts} outside 0..100")
    parties = sorted(parties, key=lambda p: p.code)
    used, fallback = method, ""
    if method == DC_CURRENT and parties:
        if any(p.dc_current_a is None for p in parties):
            used, fallback = EQUAL, "NO_CURRENT"
        elif not any(p.dc_current_a > 0 for p in parties):
            used, fallback = EQUAL, "ZERO_CURRENT"
    weights = tuple((p.code, Decimal(1) if used == EQUAL else Decimal(p.dc_current_a))
                    for p in parties)
    tower_frac = Fraction(ts) / 100 if parties else Fraction(1)
    whole = sum((Fraction(w) for _, w in weights), Fraction(0))
    exact = [(code, (1 - tower_frac) * Fraction(w) / whole) for code, w in weights] \
        if parties else []
    exact.append((TOWER, tower_frac))
    parts = largest_remainder(cost, exact)
    tower = parts.pop(TOWER)
    ratios = {code: round(Decimal(f.numerator) / Decimal(f.denominator), 6)
              for code, f in exact if code != TOWER}
    return Split(used, method, weights, ts, parts, tower, fallback, ratios)


# ---- audits ------------------------------------------------------------------------------

RATE_TOLERANCE = Decimal("0.10")   # litres per hour may exceed the rating by 10 % before a flag

RULES = {
    # code: (severity, 中文, English)
    "GEN_NO_OUTAGE": (BLOCK, "发电无对应停电", "run with no outage"),
    "GEN_HOURS": (BLOCK, "发电时长超过停电时长", "hours longer than the outage"),
    "GEN_RATE": (BLOCK, "每小时油耗超过油机额定", "litres per hour beyond the generator's rating"),
    "GEN_OVERLAP": (BLOCK, "同一停电的发电时段重叠", "runs overlapping in time on one outage"),
    "GEN_DUPLICATE": (BLOCK, "同一次发电以不同编号重复录入",
                      "the same run imported twice under different numbers"),
    "GEN_NO_RATING": (WARN, "未填油机额定油耗，无法核对油耗", "generator rating unknown: litres not checked"),
}


@dataclass(frozen=True)
class RunFacts:
    """One run as plain values; ``outage_*`` None when the run names no outage."""

    key: object
    run_no: str
    site: object
    start: datetime
    end: datetime
    hours: Decimal
    litres: Decimal
    rated_lph: Decimal | None = None
    outage: object = None
    outage_start: datetime | None = None
    outage_end: datetime | None = None


@dataclass(frozen=True)
class RunFinding:
    code: str
    severity: str
    message_zh: str
    message_en: str
    figures: dict


def _finding(code: str, zh: str, en: str, **figures) -> RunFinding:
    severity, rzh, ren = RULES[code]
    return RunFinding(code, severity, f"{rzh}：{zh}", f"{ren}: {en}",
                      {k: str(v) for k, v in figures.items()})


def hours_between(start: datetime, end: datetime) -> Decimal:
    return Decimal((end - start).total_seconds()) / Decimal(3600)


def audit_runs(runs: Sequence[RunFacts]) -> dict:
    """{run key: [RunFinding]} for every run given (an empty list when nothing fires). The
    pair rules (overlap, duplicate) look at every run given, so pass the runs of the same
    outages and sites together."""
    out = {r.key: [] for r in runs}
    for r in runs:
        if r.outage is None:
            out[r.key].append(_finding("GEN_NO_OUTAGE", f"发电单 {r.run_no} 未关联停电",
                                       f"run {r.run_no} names no outage"))
        else:
            span = hours_between(r.outage_start, r.outage_end)
            if r.hours > span:
                out[r.key].append(_finding(
                    "GEN_HOURS", f"发电 {r.hours} 小时，停电 {span:.2f} 小时",
                    f"{r.hours} h run, {span:.2f} h outage", hours=r.hours,
                    outage_hours=f"{span:.2f}"))
        if r.rated_lph is None:
            out[r.key].append(_finding("GEN_NO_RATING", f"发电单 {r.run_no}",
                                       f"run {r.run_no}"))
        elif r.hours > 0:
            rate = r.litres / r.hours
            limit = r.rated_lph * (1 + RATE_TOLERANCE)
            if rate > limit:
                out[r.key].append(_finding(
                    "GEN_RATE", f"{rate:.2f} 升/小时，额定 {r.rated_lph} 升/小时",
                    f"{rate:.2f} L/h, rated {r.rated_lph} L/h", litres_per_hour=f"{rate:.2f}",
                    rated=r.rated_lph, tolerance=f"{RATE_TOLERANCE * 100:.0f}%"))
        elif r.litres > 0:
            out[r.key].append(_finding("GEN_RATE", f"0 小时耗油 {r.litres} 升",
                                       f"{r.litres} L in 0 h", litres=r.litres))
    by_site: dict = {}
    for r in runs:   # pairs only within a site: a file of a province's runs stays linear-ish
        by_site.setdefault(r.site, []).append(r)
    for group in by_site.values():
        _pairs(group, out)
    return out


def _pairs(runs: Sequence[RunFacts], out: dict) -> None:
    """Overlap and duplicate findings among the runs of one site."""
    for i, a in enumerate(runs):
        for b in runs[i + 1:]:
            if a.run_no != b.run_no and (a.start, a.end, a.litres) == (
                    b.start, b.end, b.litres):
                for x, y in ((a, b), (b, a)):
                    out[x.key].append(_finding(
                        "GEN_DUPLICATE", f"与发电单 {y.run_no} 时段、油量相同",
                        f"same times and litres as run {y.run_no}", other=y.run_no))
            elif a.outage is not None and a.outage == b.outage and a.start < b.end \
                    and b.start < a.end:
                for x, y in ((a, b), (b, a)):
                    out[x.key].append(_finding(
                        "GEN_OVERLAP", f"与发电单 {y.run_no} 时段重叠",
                        f"overlaps run {y.run_no}", other=y.run_no))
