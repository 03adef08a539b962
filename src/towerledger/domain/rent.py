"""场租 Site rent (DOMAIN.md §7): the payment schedule of a landlord contract and the split of
a rent payment over the tenancies of the site. Pure functions over plain values.

**Contract years.** Year *k* (1, 2, …) runs from ``start + 12(k-1) months`` to the day
before ``start + 12k months`` (month arithmetic from the original start; a day past the
month's end clips to its last day). The annual rent of year *k*:

* ``NONE``: ``A``;
* ``PERCENT`` (fixed % a year, compounded): ``fen(A × (1 + p/100)^(k-1))`` (half-up);
* ``STEP`` (a fixed step in yuan a year): ``A + (k-1) × step``.

**Periods.** Payment periods start at ``start`` and every ``cycle`` months after it (1, 3 or
12; all divide 12, so a period never straddles a contract year); the last one ends with the
contract. A full period is worth ``annual_k × cycle / 12``; a part period (the contract
ends inside it) is prorated by days: ``annual_k × cycle / 12 × days / days of the full
period``. Due date: the period's first day (in advance) or its last day (in arrears).

**Rounding.** The contract's rent over its period is the exact sum of the periods' worth,
rounded half-up to the fen once; it is split over the periods by the largest remainder
(ties to the earlier period), so the schedule sums exactly to it.

**Pass-through** (``split_payment``): a payment for a period is shared day by day over the
tenancies active on each day: ``TENANCY`` equal weights, ``RATIO`` the tenancies' agreed
ratios in force that day renormalised over the active ones (like FIXED_RATIO, DOMAIN §3; a
day whose active tenancies have no positive ratio falls back to equal weights, flagged);
``TOWER`` nothing passed through. A day with no active tenancy is the tower's, and so is the
daily share of a tenancy that pays a lump-sum site fee (场地费包干) that day. A party's
share is the mean of its daily shares; the payment is split by the largest remainder, keys
by ascending tenancy code, the tower last.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from towerledger.domain.explain import pct as percent
from towerledger.domain.money import as_fraction, fen, largest_remainder, round_half_up

DAY = timedelta(days=1)
CYCLE_MONTHS = {"MONTHLY": 1, "QUARTERLY": 3, "YEARLY": 12}
CYCLE_ZH = {"MONTHLY": "月付", "QUARTERLY": "季付", "YEARLY": "年付"}
METHOD_ZH = {"TENANCY": "按租户均摊", "RATIO": "按约定比例", "TOWER": "铁塔承担"}
METHOD_EN = {"TENANCY": "by tenancy (equal per day)", "RATIO": "by agreed ratio",
             "TOWER": "borne by the tower"}
TOWER = "TOWER"


def add_months(d: date, n: int) -> date:
    """``d`` moved ``n`` months, its day clipped to the month's last day."""
    m = d.month - 1 + n
    y, m = d.year + m // 12, m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def days(a: date, b: date) -> int:
    """Days from ``a`` to ``b`` inclusive."""
    return (b - a).days + 1


@dataclass(frozen=True)
class ContractIn:
    start: date
    end: date                 # inclusive
    annual_rent: Decimal
    cycle: str = "YEARLY"     # MONTHLY | QUARTERLY | YEARLY
    timing: str = "ADVANCE"   # ADVANCE | ARREARS
    escalation: str = "NONE"  # NONE | PERCENT | STEP
    escalation_pct: Decimal = Decimal("0")
    escalation_step: Decimal = Decimal("0")


@dataclass(frozen=True)
class Period:
    seq: int
    start: date
    end: date
    due: date
    amount: Decimal
    year: int                 # contract year (1 = the first)
    annual_rent: Decimal      # annual rent of that year, escalation applied
    full_days: int            # days of the full period (== its days unless a part period)
    exact: Fraction = field(compare=False, default=Fraction(0))


def annual_rent(c: ContractIn, year: int) -> Decimal:
    """The annual rent of contract year ``year`` (1-based), escalation applied."""
    if year < 1:
        raise ValueError("contract years start at 1")
    k = year - 1
    if c.escalation == "PERCENT":
        return fen(as_fraction(c.annual_rent) * (1 + as_fraction(c.escalation_pct) / 100) ** k)
    if c.escalation == "STEP":
        return fen(c.annual_rent + k * c.escalation_step)
    if c.escalation != "NONE":
        raise ValueError(f"unknown escalation {c.escalation}")
    return fen(c.annual_rent)


def year_of(c: ContractIn, d: date) -> int:
    """The contract year ``d`` falls in (1 before the start)."""
    year = 1
    while add_months(c.start, 12 * year) <= d:
        year += 1
    return year


def current_rent(c: ContractIn, d: date) -> Decimal:
    """The annual rent in force on ``d`` (escalation applied)."""
    return annual_rent(c, year_of(c, d))


def _check(c: ContractIn) -> None:
    if c.end < c.start:
        raise ValueError("the contract ends before it starts")
    if c.cycle not in CYCLE_MONTHS:
        raise ValueError(f"unknown payment cycle {c.cycle}")
    if c.timing not in ("ADVANCE", "ARREARS"):
        raise ValueError(f"unknown timing {c.timing}")
    if c.annual_rent < 0 or c.escalation_pct < 0 or c.escalation_step < 0:
        raise ValueError("rent and escalation must not be negative")


def schedule(c: ContractIn) -> list[Period]:
    """The payment schedule of ``c`` (see the module's docstring)."""
    _check(c)
    step = CYCLE_MONTHS[c.cycle]
    raw = []
    n = 0
    while True:
        start = add_months(c.start, step * n)
        if start > c.end:
            break
        full_end = add_months(c.start, step * (n + 1)) - DAY
        end = min(full_end, c.end)
        year = step * n // 12 + 1
        annual = annual_rent(c, year)
        full = days(start, full_end)
        exact = as_fraction(annual) * step / 12 * Fraction(days(start, end), full)
        raw.append((n + 1, start, end, year, annual, full, exact))
        n += 1
    total = fen(sum((r[-1] for r in raw), Fraction(0)))
    parts = largest_remainder(total, [(r[0], r[-1]) for r in raw])
    return [Period(seq, start, end, start if c.timing == "ADVANCE" else end, parts[seq],
                   year, annual, full, exact)
            for seq, start, end, year, annual, full, exact in raw]


def contract_total(c: ContractIn) -> Decimal:
    """The contract's rent over its whole period, escalation applied (the schedule's sum)."""
    return sum((p.amount for p in schedule(c)), Decimal("0.00"))


def terminate(periods: list[Period], on: date) -> list[Period]:
    """The schedule after terminating on ``on`` (its last day in force): periods after it
    dropped, the period containing it prorated by days (half-up to the fen)."""
    out = []
    for p in periods:
        if p.start > on:
            continue
        if p.end > on:
            amount = fen(as_fraction(p.amount) * Fraction(days(p.start, on), days(p.start, p.end)))
            p = Period(p.seq, p.start, on, min(p.due, on), amount, p.year, p.annual_rent,
                       p.full_days, p.exact)
        out.append(p)
    return out


# ---- pass-through -----------------------------------------------------------------------

@dataclass(frozen=True)
class TenantIn:
    key: int
    tenancy_id: str                       # business code: orders ties
    operator: str
    start: date
    end: date | None                      # inclusive; None = open
    ratios: tuple[tuple[date, Decimal], ...] = ()   # dated agreed ratios (percent)
    agreed_ratio: Decimal | None = None   # used when no dated ratios
    fee_spans: tuple[tuple[date, date | None], ...] = ()  # lump-sum site fee in force

    def active(self, d: date) -> bool:
        return self.start <= d and (self.end is None or d <= self.end)

    def ratio(self, d: date) -> Decimal | None:
        if not self.ratios:
            return self.agreed_ratio
        best = None
        for since, r in sorted(self.ratios):
            if since <= d:
                best = r
        return best

    def on_fee(self, d: date) -> bool:
        return any(a <= d and (b is None or d <= b) for a, b in self.fee_spans)


@dataclass(frozen=True)
class Share:
    key: object               # tenancy key or TOWER
    tenancy_id: str
    operator: str
    amount: Decimal
    share: Fraction
    active_days: int
    fee_days: int = 0         # active days on a lump-sum site fee (their share is the tower's)


def split_payment(amount: Decimal, start: date, end: date, method: str,
                  tenants: list[TenantIn]) -> tuple[list[Share], dict]:
    """Split a rent payment for ``start..end`` day by day (module docstring). Returns the
    shares (tenancies by code, then the tower; zero shares included) and flags."""
    if end < start:
        raise ValueError("the period ends before it starts")
    if method not in METHOD_ZH:
        raise ValueError(f"unknown pass-through {method}")
    tenants = sorted(tenants, key=lambda t: t.tenancy_id)
    total_days = days(start, end)
    exact = {t.key: Fraction(0) for t in tenants}
    act = {t.key: 0 for t in tenants}
    fee = {t.key: 0 for t in tenants}
    tower = Fraction(0)
    flags = {"vacant_days": 0, "ratio_fallback_days": 0}
    d = start
    while d <= end:
        on = [t for t in tenants if t.active(d)]
        for t in on:
            act[t.key] += 1
            if t.on_fee(d):
                fee[t.key] += 1
        if not on:
            flags["vacant_days"] += 1
        if method == "TOWER" or not on:
            tower += 1
            d += DAY
            continue
        weights = {t.key: Fraction(1) for t in on}
        if method == "RATIO":
            rs = {t.key: t.ratio(d) for t in on}
            if all(r is not None and r > 0 for r in rs.values()):
                weights = {k: as_fraction(r) for k, r in rs.items()}
            else:
                flags["ratio_fallback_days"] += 1
        whole = sum(weights.values())
        for t in on:
            part = weights[t.key] / whole
            if t.on_fee(d):
                tower += part
            else:
                exact[t.key] += part
        d += DAY
    keys = [(t.key, exact[t.key] / total_days) for t in tenants]
    keys.append((TOWER, tower / total_days))
    parts = largest_remainder(fen(amount), keys)
    shares = [Share(t.key, t.tenancy_id, t.operator, parts[t.key], exact[t.key] / total_days,
                    act[t.key], fee[t.key]) for t in tenants]
    shares.append(Share(TOWER, "", "", parts[TOWER], tower / total_days, 0))
    return shares, flags


def explain(share: Share, *, contract_no: str, period: Period, method: str,
            total_days: int, flags: dict | None = None) -> dict:
    """The trace of one RENT line: contract, period, days, method, share, escalation year."""
    pct = percent(Fraction(share.share))   # exact, half-up to 4 places
    ps, pe = period.start.isoformat(), period.end.isoformat()
    who_zh = f"{share.operator}租户{share.tenancy_id}" if share.key != TOWER else "铁塔自担"
    who_en = (f"{share.operator} tenancy {share.tenancy_id}" if share.key != TOWER
              else "tower-borne")
    esc_zh = f"第{period.year}合同年度，年租金{period.annual_rent}元"
    esc_en = f"contract year {period.year}, annual rent {period.annual_rent} yuan"
    return {
        "contract": contract_no, "period": [ps, pe], "days": total_days,
        "active_days": share.active_days, "fee_days": share.fee_days, "method": method,
        "share": _dec(share.share),
        "year": period.year, "annual_rent": str(period.annual_rent),
        "payment": str(period.amount), "amount": str(share.amount),
        "rounding": "largest remainder, ties by tenancy code, tower last",
        **({"flags": flags} if flags else {}),
        "text_zh": (f"{who_zh}场租：合同{contract_no}，{ps}至{pe}共{total_days}天，{esc_zh}，"
                    f"本期租金{period.amount}元；{METHOD_ZH[method]}，在网{share.active_days}天，"
                    f"份额{pct}，分摊{share.amount}元（最大余额法到分）。"),
        "text_en": (f"Site rent of {who_en}: contract {contract_no}, {ps}..{pe} "
                    f"({total_days} days), {esc_en}, payment {period.amount} yuan; "
                    f"{METHOD_EN[method]}, active {share.active_days} days, share {pct}, "
                    f"{share.amount} yuan (largest remainder to the fen)."),
    }


def round_share(x: Fraction) -> Decimal:
    """A share to 6 places, half-up."""
    return round_half_up(x, 6)


def _dec(x: Fraction) -> str:
    return str(round_share(x))


# ---- benchmark --------------------------------------------------------------------------

def median(values: list[Decimal]) -> Decimal:
    """The median (mean of the middle two for an even count), to the fen."""
    if not values:
        raise ValueError("no values")
    v = sorted(values)
    n = len(v)
    if n % 2:
        return fen(v[n // 2])
    return fen((as_fraction(v[n // 2 - 1]) + as_fraction(v[n // 2])) / 2)


def above_benchmark(rent: Decimal, med: Decimal, threshold_pct: Decimal) -> bool:
    """Rent far above its peers: more than ``threshold_pct`` % of the city's median."""
    return med > 0 and as_fraction(rent) * 100 > as_fraction(med) * as_fraction(threshold_pct)


def month_cost(periods: list[Period], first: date, last: date) -> Decimal:
    """The rent cost of ``first..last`` (a month): each period's amount prorated by its days
    inside the month (exact, then half-up to the fen)."""
    total = Fraction(0)
    for p in periods:
        a, b = max(p.start, first), min(p.end, last)
        if a <= b:
            total += as_fraction(p.amount) * Fraction(days(a, b), days(p.start, p.end))
    return fen(total)


def refund(amount: Decimal, start: date, end: date, on: date) -> Decimal:
    """What a landlord owes back of ``amount`` paid for ``start..end`` when the contract ends
    on ``on``: the days after it, prorated (the paid amount less the prorated kept part,
    so kept + refund = amount exactly)."""
    if on >= end:
        return fen(0)
    if on < start:
        return fen(amount)
    kept = fen(as_fraction(amount) * Fraction(days(start, on), days(start, end)))
    return fen(amount) - kept
