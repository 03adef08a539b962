"""Theft rectification (偷电整治), measured savings and savings sharing (效益分成), DOMAIN.md §7.

A case's workflow as data (like ``domain.lifecycle``)::

    SUSPECTED ──investigate──▶ INVESTIGATING ──confirm──▶ CONFIRMED ──remediate──▶ REMEDIATED
        │                          └──dismiss──▶ DISMISSED ──close──▶ CLOSED        │
        └──dismiss──▶ DISMISSED                                   CLOSED ◀──close──┘

Savings (all Decimal; rounding written down so a clerk can redo it by hand):

* baseline use per day = Σ kWh_i × o_i / d_i ÷ Σ o_i over the account's bills i, o_i the
  days bill i overlaps the 3 calendar months before detection (detection day excluded),
  d_i the bill's days; kept to 4 decimals (half-up);
* a month's actual use per day: the same over the days of the month the bills cover;
  ``days`` = those days; the month's unit price = the unit price of the bill covering most
  of its days (ties: the later bill);
* savings = max(0, baseline − actual) × days × unit price, to the fen (half-up), for the 12
  calendar months after the remediation month;
* the tower's share = savings × tower share, to the fen; it is split over the parties who
  bore the site's bills that month by their cost shares (largest remainder, ties by tenancy
  business code, the tower's own part last): the operators' parts are charged as
  SAVINGS_SHARE lines, the tower's own part (what it bore itself) is not charged.

Pure Python, no Django.
"""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.money import ZERO, fen, largest_remainder, round_half_up
from towerledger.domain.months import month_end, next_month

BASELINE_MONTHS = 3
SAVINGS_MONTHS = 12
DEFAULT_TOWER_SHARE = Decimal("0.50")     # 50 % when no agreement says otherwise
DEFAULT_STEP_DAYS = 30                    # each workflow step's deadline when none is set
PER_DAY_PLACES = 4


class CaseState(StrEnum):
    SUSPECTED = "SUSPECTED"          # 疑似
    INVESTIGATING = "INVESTIGATING"  # 核查中
    CONFIRMED = "CONFIRMED"          # 已确认偷电
    DISMISSED = "DISMISSED"          # 排除
    REMEDIATED = "REMEDIATED"        # 已整改
    CLOSED = "CLOSED"                # 已结案


class CaseEvent(StrEnum):
    INVESTIGATE = "INVESTIGATE"
    CONFIRM = "CONFIRM"
    DISMISS = "DISMISS"
    REMEDIATE = "REMEDIATE"
    CLOSE = "CLOSE"


S, E = CaseState, CaseEvent

TRANSITIONS: dict[tuple[CaseState, CaseEvent], CaseState] = {
    (S.SUSPECTED, E.INVESTIGATE): S.INVESTIGATING,
    (S.SUSPECTED, E.DISMISS): S.DISMISSED,
    (S.INVESTIGATING, E.CONFIRM): S.CONFIRMED,
    (S.INVESTIGATING, E.DISMISS): S.DISMISSED,
    (S.CONFIRMED, E.REMEDIATE): S.REMEDIATED,
    (S.REMEDIATED, E.CLOSE): S.CLOSED,
    (S.DISMISSED, E.CLOSE): S.CLOSED,
}
TERMINAL = frozenset(s for s in CaseState if not any(frm == s for frm, _ in TRANSITIONS))
OPEN = frozenset(set(CaseState) - {S.CLOSED})

ZH = {S.SUSPECTED: "疑似", S.INVESTIGATING: "核查中", S.CONFIRMED: "已确认", S.DISMISSED: "已排除",
      S.REMEDIATED: "已整改", S.CLOSED: "已结案"}
EN = {S.SUSPECTED: "Suspected", S.INVESTIGATING: "Investigating", S.CONFIRMED: "Confirmed",
      S.DISMISSED: "Dismissed", S.REMEDIATED: "Remediated", S.CLOSED: "Closed"}
EVENT_ZH = {E.INVESTIGATE: "开始核查", E.CONFIRM: "确认偷电", E.DISMISS: "排除", E.REMEDIATE: "整改完成",
            E.CLOSE: "结案"}
EVENT_EN = {E.INVESTIGATE: "Investigate", E.CONFIRM: "Confirm theft", E.DISMISS: "Dismiss",
            E.REMEDIATE: "Remediated", E.CLOSE: "Close"}


def next_state(state: str, event: str) -> CaseState:
    """The state ``event`` leads to from ``state``; a DomainError when it is not allowed."""
    try:
        return TRANSITIONS[(CaseState(state), CaseEvent(event))]
    except (KeyError, ValueError):
        raise DomainError(f"案件状态 {ZH.get(state, state)} 不能执行 {EVENT_ZH.get(event, event)}",
                          f"a {state} case cannot {event}", ErrorCode.ILLEGAL_TRANSITION) from None


def events_from(state: str) -> list[CaseEvent]:
    return [ev for (frm, ev) in TRANSITIONS if frm == state]


def step_due(since: date, step_days: int = DEFAULT_STEP_DAYS) -> date:
    """The deadline of the step a case entered on ``since``."""
    return since + timedelta(days=step_days)


# ---- use per day --------------------------------------------------------------------------

@dataclass(frozen=True)
class BillUse:
    """What a savings calculation needs of one bill."""

    period_start: date
    period_end: date
    kwh: Decimal
    unit_price: Decimal

    @property
    def days(self) -> int:
        return (self.period_end - self.period_start).days + 1


def overlap(a0: date, a1: date, b0: date, b1: date) -> int:
    return max(0, (min(a1, b1) - max(a0, b0)).days + 1)


def add_months(d: date, n: int) -> date:
    """``d`` moved by ``n`` calendar months (the day clipped to the month's last)."""
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    first = date(y, m + 1, 1)
    return min(first.replace(day=1) + timedelta(days=d.day - 1), month_end(first))


@dataclass(frozen=True)
class UsePerDay:
    per_day: Decimal | None   # None: no bill covers the window
    days: int                 # days of the window the bills cover
    kwh: Fraction             # the bills' kWh over those days, exactly


def use_per_day(bills: Iterable[BillUse], first: date, last: date) -> UsePerDay:
    """Day-weighted kWh per day of ``bills`` over ``first``..``last`` (4 decimals)."""
    days, kwh = 0, Fraction(0)
    for b in bills:
        o = overlap(b.period_start, b.period_end, first, last)
        if o:
            days += o
            kwh += Fraction(b.kwh) * o / b.days
    if not days:
        return UsePerDay(None, 0, kwh)
    return UsePerDay(round_half_up(kwh / days, PER_DAY_PLACES), days, kwh)


def baseline_window(detected_on: date) -> tuple[date, date]:
    """The 3 calendar months before detection, the detection day excluded."""
    return add_months(detected_on, -BASELINE_MONTHS), detected_on - timedelta(days=1)


def baseline(bills: Iterable[BillUse], detected_on: date) -> UsePerDay:
    return use_per_day(bills, *baseline_window(detected_on))


def savings_months(remediated_on: date) -> list[date]:
    """The 12 calendar months (first days) after the remediation month."""
    out, m = [], next_month(remediated_on)
    for _ in range(SAVINGS_MONTHS):
        out.append(m)
        m = next_month(m)
    return out


def month_price(bills: Sequence[BillUse], month: date) -> Decimal | None:
    """The unit price of the bill covering most days of ``month`` (ties: the later bill)."""
    best = None
    for b in bills:
        o = overlap(b.period_start, b.period_end, month, month_end(month))
        if o and (best is None or (o, b.period_start) > best[0]):
            best = ((o, b.period_start), b.unit_price)
    return best[1] if best else None


@dataclass(frozen=True)
class MonthSavings:
    month: date
    baseline_per_day: Decimal
    actual_per_day: Decimal
    days: int
    unit_price: Decimal
    savings: Decimal


def month_savings(baseline_per_day: Decimal, bills: Sequence[BillUse], month: date
                  ) -> MonthSavings | None:
    """The savings of ``month`` (first day); None while no bill covers any day of it."""
    used = use_per_day(bills, month, month_end(month))
    price = month_price(bills, month)
    if used.per_day is None or price is None:
        return None
    return MonthSavings(month, baseline_per_day, used.per_day, used.days, Decimal(price),
                        savings_of(baseline_per_day, used.per_day, used.days, Decimal(price)))


def savings_of(baseline_per_day: Decimal, actual_per_day: Decimal, days: int,
               unit_price: Decimal) -> Decimal:
    """(baseline − actual) × days × price, to the fen, never below zero."""
    return max(ZERO, fen((Decimal(baseline_per_day) - Decimal(actual_per_day)) * days
                         * Decimal(unit_price)))


# ---- sharing ------------------------------------------------------------------------------

def tower_share_amount(savings: Decimal, tower_share: Decimal) -> Decimal:
    """The tower's share of a month's savings, to the fen (half-up)."""
    return fen(Decimal(savings) * Decimal(tower_share))


TOWER = "~TOWER"   # the tower's own key: sorts after every tenancy business code


def split_by_cost_shares(amount: Decimal, cost_shares: Sequence[tuple[Hashable, Decimal]]
                         ) -> dict:
    """``amount`` split in proportion to ``cost_shares`` ((key, yuan) with the tower's own
    part under ``TOWER``), by largest remainder; the caller orders keys by tenancy business
    code with the tower last (ties go to the first). The parts sum exactly to ``amount``
    (negative amounts split like their absolute value). Every share zero: all to the last."""
    weights = [(k, Fraction(max(Decimal(w), ZERO))) for k, w in cost_shares]
    if not weights:
        return {}
    if amount < 0:
        return {k: -v for k, v in largest_remainder(-Decimal(amount), weights).items()}
    return largest_remainder(Decimal(amount), weights)


def ordered(cost_shares: dict) -> list[tuple[Hashable, Decimal]]:
    """Keys by business code, the tower's own part last."""
    return sorted(cost_shares.items(), key=lambda kv: (kv[0] == TOWER, str(kv[0])))
