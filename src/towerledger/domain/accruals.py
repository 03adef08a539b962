"""暂估 Accruals (DOMAIN.md §7): the estimate for an account whose bills do not cover a month.

For a month [first, last] and the account's bills (any not void; overlapping or duplicated
periods count once: coverage is the **union** of the bill periods):

* uncovered days ``U`` = the days of the month outside every bill period;
* the basis window = the 3 calendar months before the first uncovered day ``u0``:
  ``[u0 − 3 months, u0 − 1]``;
* use per day = Σ kWh_b × overlap_b / days_b ÷ Σ overlap_b over the bills b overlapping the
  window (each bill's kWh spread evenly over its own days, weighted by the days it shares
  with the window — "day-weighted");
* unit price = the last bill's ``unit_price`` (latest period end; amount ÷ kWh when it has
  none);
* estimate = fen(use per day × |U| × unit price), computed exactly and rounded once
  (四舍五入), never negative (a negative use or price counts as zero).

A bill without kWh (a lump-sum supply, 包干) is estimated by money instead of energy: use per
day is then yuan per day, and the unit price is 1. When no bill overlaps the window there is
no basis: the estimate is zero with ``basis_days`` 0 (listed, not posted).

``split`` spreads an estimate over the account's sites by their split ratios, largest
remainder, so the site parts sum exactly to it.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from towerledger.domain.money import ZERO, as_fraction, fen, largest_remainder, round_half_up
from towerledger.domain.months import month_end

BASIS_MONTHS = 3


@dataclass(frozen=True)
class BillPeriod:
    start: date
    end: date
    kwh: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal = ZERO

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Estimate:
    days_uncovered: int
    first_uncovered: date | None
    basis_from: date | None
    basis_to: date | None
    basis_days: int                 # Σ overlap of the basis bills with the window
    use_per_day: Decimal            # kWh per day (4 places, for display)
    unit_price: Decimal | None      # yuan per kWh (None: no basis)
    amount: Decimal                 # the estimate, yuan to the fen
    by_money: bool = False          # the basis bills carry no kWh: yuan per day

    @property
    def covered(self) -> bool:
        return self.days_uncovered == 0


def months_back(d: date, n: int) -> date:
    """The same day ``n`` calendar months earlier (the month's last day when it is shorter)."""
    y, m = divmod(d.year * 12 + d.month - 1 - n, 12)
    m += 1
    return min(d.replace(year=y, month=m, day=1) + timedelta(days=d.day - 1),
               month_end(date(y, m, 1)))


def uncovered_days(bills: Iterable[BillPeriod], first: date, last: date) -> list[date]:
    """The days of [first, last] that no bill period covers (the union of the periods)."""
    covered = [False] * ((last - first).days + 1)
    for b in bills:
        lo, hi = max(b.start, first), min(b.end, last)
        for i in range((lo - first).days, (hi - first).days + 1):
            covered[i] = True
    return [first + timedelta(days=i) for i, c in enumerate(covered) if not c]


def _overlap(b: BillPeriod, lo: date, hi: date) -> int:
    return max(0, (min(b.end, hi) - max(b.start, lo)).days + 1)


def _price(bill: BillPeriod) -> Fraction | None:
    if bill.kwh is None:
        return Fraction(1)
    if bill.unit_price is not None:
        return max(Fraction(0), as_fraction(bill.unit_price))
    if bill.kwh:
        return max(Fraction(0), as_fraction(bill.amount) / as_fraction(bill.kwh))
    return None


def estimate(bills: Sequence[BillPeriod], month: date, until: date | None = None) -> Estimate:
    """The accrual of ``month`` (any day of it) for an account with ``bills``; ``until``
    ends the month early (the last fed site decommissioned in it)."""
    first = month.replace(day=1)
    last = min(month_end(first), until) if until else month_end(first)
    gaps = uncovered_days(bills, first, last)
    if not gaps:
        return Estimate(0, None, None, None, 0, ZERO, None, ZERO)
    u0 = gaps[0]
    lo, hi = months_back(u0, BASIS_MONTHS), u0 - timedelta(days=1)
    basis = [(b, _overlap(b, lo, hi)) for b in bills if b.start <= b.end]
    basis = [(b, ov) for b, ov in basis if ov]
    # the energy basis: bills with kWh; only when none has kWh, the money basis
    by_money = bool(basis) and all(b.kwh is None for b, _ in basis)
    if not by_money:
        basis = [(b, ov) for b, ov in basis if b.kwh is not None]
    if not basis:
        return Estimate(len(gaps), u0, lo, hi, 0, ZERO, None, ZERO)
    days = sum(ov for _, ov in basis)
    qty = sum((as_fraction(b.amount if by_money else b.kwh) * ov / b.days for b, ov in basis),
              Fraction(0))
    per_day = max(Fraction(0), qty / days)
    latest = max((b for b in bills if b.start <= b.end and (by_money or b.kwh is not None)),
                 key=lambda b: (b.end, b.start), default=basis[-1][0])
    price = _price(latest)
    if price is None:
        return Estimate(len(gaps), u0, lo, hi, days, round_half_up(per_day, 4), None, ZERO,
                        by_money)
    amount = fen(per_day * len(gaps) * price)
    return Estimate(len(gaps), u0, lo, hi, days, round_half_up(per_day, 4),
                    round_half_up(price, 4), amount, by_money)


def split(amount: Decimal, ratios: Sequence[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """``amount`` over the sites by split ratio (largest remainder; ties: the order given)."""
    return largest_remainder(amount, [(site, as_fraction(r)) for site, r in ratios])
