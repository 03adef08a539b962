"""转改直 (resupply → direct supply): the pure rules (DOMAIN.md §7).

* a project's states: SUBMITTED → APPROVED → BUILT → DONE, or FAILED from any open state;
* a candidate's yearly kWh (day-weighted over the last 12 months of bills) and its ranking
  figure ``yearly kWh × (current price − direct price) − cost``;
* the savings of one bill after the conversion: kWh × (price before − direct price), the
  project's fixed gap (a later market-trading discount is the trading program's saving,
  never counted twice);
* payback: projected (cost ÷ projected monthly savings) and realised (the first month in
  which cumulative realised savings reach the cost).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.money import fen, largest_remainder

SUBMITTED, APPROVED, BUILT, DONE, FAILED = "SUBMITTED", "APPROVED", "BUILT", "DONE", "FAILED"
STATES = (SUBMITTED, APPROVED, BUILT, DONE, FAILED)
OPEN = (SUBMITTED, APPROVED, BUILT)
STATE_LABELS = {SUBMITTED: ("已提交", "submitted"), APPROVED: ("已批准", "approved"),
                BUILT: ("已施工", "built"), DONE: ("已完成", "done"),
                FAILED: ("未成功", "failed")}

# the step (action) → (from states, to state)
STEPS = {
    "approve": ((SUBMITTED,), APPROVED),
    "build": ((APPROVED,), BUILT),
    "complete": ((BUILT,), DONE),
    "fail": (OPEN, FAILED),
}

DEFAULT_DIRECT_PRICE = Decimal("0.6500")
# the default conversion cost per site type (yuan) when nobody entered an estimate
DEFAULT_COST = {"MACRO": Decimal("30000.00"), "ROOM": Decimal("25000.00"),
                "INDOOR": Decimal("20000.00"), "SMALL": Decimal("8000.00")}
FALLBACK_COST = Decimal("30000.00")
YEAR_DAYS = 365


def next_state(state: str, step: str) -> str:
    """The state after ``step`` from ``state``; refuses a step the state does not allow."""
    if step not in STEPS:
        raise DomainError(f"未知操作：{step}", f"unknown step: {step}")
    sources, target = STEPS[step]
    if state not in sources:
        zh, en = STATE_LABELS.get(state, (state, state))
        raise DomainError(f"项目处于「{zh}」状态，不能执行该操作",
                          f"a {en} project cannot take the step {step}",
                          ErrorCode.ILLEGAL_TRANSITION)
    return target


def allowed_steps(state: str) -> list[str]:
    return [step for step, (sources, _) in STEPS.items() if state in sources]


# ---- candidates ---------------------------------------------------------------------------

def yearly_kwh(kwh: Decimal | None, first: date | None, last: date | None) -> Decimal:
    """Yearly kWh from bills covering ``first..last`` with ``kwh`` in all: kWh per day over
    the covered days × 365, 2 places (day-weighted: a quarterly bill weighs three months)."""
    if not kwh or first is None or last is None or last < first:
        return Decimal("0.00")
    days = (last - first).days + 1
    return fen(Decimal(kwh) * YEAR_DAYS / days)


def ranking_figure(yearly: Decimal, current_price: Decimal | None, direct_price: Decimal,
                   cost: Decimal) -> Decimal:
    """yearly kWh × (current price − direct price) − cost (a gap ≤ 0 counts as 0)."""
    gap = max(Decimal(0), (current_price or Decimal(0)) - direct_price)
    return fen(yearly * gap - cost)


def projected_monthly_savings(yearly: Decimal, price_before: Decimal,
                              direct_price: Decimal) -> Decimal:
    """yearly kWh × price gap ÷ 12, to the fen."""
    return fen(yearly * max(Decimal(0), price_before - direct_price) / 12)


def bill_saving(kwh: Decimal | None, price_before: Decimal, direct_price: Decimal) -> Decimal:
    """The realised saving of one bill after the conversion: kWh × (price before − direct
    price), to the fen, floored at 0."""
    if not kwh:
        return Decimal("0.00")
    return max(Decimal("0.00"), fen(Decimal(kwh) * (price_before - direct_price)))


def direct_from(done_on: date) -> date:
    """The first day of direct supply: the done date itself (DOMAIN.md §7: "on done the
    account's supply type becomes DIRECT from that date"). The landlord's last bill ends the
    day before; the grid's first starts on it."""
    return done_on


def counts_after(period_start: date, done_on: date) -> bool:
    """A bill counts as direct supply (and as a saving) when its period starts on or after
    the first day of direct supply."""
    return period_start >= direct_from(done_on)


# ---- payback --------------------------------------------------------------------------------

def payback_months(cost: Decimal, monthly: Decimal) -> Decimal | None:
    """cost ÷ monthly savings, to one decimal (rounded up: a payback is never early)."""
    if monthly <= 0:
        return None
    return (Decimal(cost) / monthly).quantize(Decimal("0.1"), rounding=ROUND_CEILING)


@dataclass(frozen=True)
class PaybackMonth:
    month: date
    saving: Decimal
    cumulative: Decimal
    remaining: Decimal        # cost not yet paid back (0 once reached)
    projected_cumulative: Decimal


@dataclass(frozen=True)
class Payback:
    cost: Decimal
    projected_monthly: Decimal
    projected_months: Decimal | None    # cost ÷ projected monthly savings
    realised_monthly: Decimal           # mean of the months tracked
    realised_months: Decimal | None     # cost ÷ realised mean monthly savings
    reached: date | None                # the month cumulative realised savings reach the cost
    months: tuple[PaybackMonth, ...]


def payback(cost: Decimal, projected_monthly: Decimal,
            savings: Sequence[tuple[date, Decimal]]) -> Payback:
    """Track realised savings month by month (``savings`` in month order, every month since
    the conversion, zero months included) against the projection."""
    cumulative, reached, rows = Decimal("0.00"), None, []
    for i, (month, saving) in enumerate(savings, start=1):
        cumulative += saving
        if reached is None and cumulative >= cost:
            reached = month
        rows.append(PaybackMonth(month, saving, cumulative, max(Decimal("0.00"),
                                                                cost - cumulative),
                                 fen(projected_monthly * i)))
    mean = fen(cumulative / len(rows)) if rows else Decimal("0.00")
    return Payback(cost, projected_monthly, payback_months(cost, projected_monthly), mean,
                   payback_months(cost, mean), reached, tuple(rows))


# ---- operators' shares ----------------------------------------------------------------------

def split_saving(saving: Decimal, parts: Iterable[tuple[tuple[str, str], Decimal]]
                 ) -> dict[tuple[str, str], Decimal]:
    """Split a bill's saving over its allocation lines' (site code, operator code) parts by
    their cost shares (the operators' bills are lower by exactly these amounts). The
    tower-borne parts have operator ``""`` and come last; ties go by site then operator
    code, never by a database id. Largest remainder: the parts sum exactly to ``saving``."""
    merged: dict[tuple[str, str], Decimal] = {}
    for key, amount in parts:
        merged[key] = merged.get(key, Decimal(0)) + Decimal(amount)
    keys = sorted(merged, key=lambda k: (k[1] == "", k[0], k[1]))
    if not keys:
        return {}
    if saving == 0:
        return {k: Decimal("0.00") for k in keys}
    weights = [(k, Fraction(max(Decimal(0), merged[k]))) for k in keys]
    return largest_remainder(Decimal(saving), weights)


def operator_shares(saving: Decimal, parts: Iterable[tuple[tuple[str, str], Decimal]]
                    ) -> dict[str, Decimal]:
    """``split_saving`` summed per operator code (``""``: the tower-borne part)."""
    out: dict[str, Decimal] = {}
    for (_, op), amount in split_saving(saving, parts).items():
        out[op] = out.get(op, Decimal("0.00")) + amount
    return out
