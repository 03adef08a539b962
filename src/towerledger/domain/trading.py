"""直供电市场化交易 (market trading): the pure rules (DOMAIN.md §7).

A yearly contract with a trader gives enrolled direct accounts either a discount per kWh
off the catalogue price or a traded price. A bill of an enrolled account is expected at
the traded price (``catalogue − discount`` or the traded price itself); one billed above it
beyond the tolerance is a TRADING_DISCOUNT finding. The month's saving of a bill is
``kWh × (catalogue price − traded price)``, split over the operators by their cost shares
of that bill's allocation lines (``domain.conversion.operator_shares``).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from towerledger.domain.audits import WARN, Finding
from towerledger.domain.errors import DomainError
from towerledger.domain.money import fen

CODE = "TRADING_DISCOUNT"
DEFAULT_TOLERANCE = Decimal("0.005")     # yuan per kWh


@dataclass(frozen=True)
class Terms:
    """A contract's price terms: a discount per kWh off ``catalogue_price`` or a traded
    price (exactly one of them)."""

    catalogue_price: Decimal
    discount: Decimal | None = None
    traded_price: Decimal | None = None

    def __post_init__(self):
        if (self.discount is None) == (self.traded_price is None):
            raise DomainError("合同须填写每千瓦时优惠或交易电价（二选一）",
                              "a contract has a discount per kWh or a traded price (one)")
        if self.catalogue_price is None or self.catalogue_price <= 0:
            raise DomainError("目录电价须大于 0", "the catalogue price must be above 0")
        if self.discount is not None and not 0 < self.discount < self.catalogue_price:
            raise DomainError("优惠须大于 0 且小于目录电价",
                              "the discount must be above 0 and below the catalogue price")
        if self.traded_price is not None and not 0 < self.traded_price:
            raise DomainError("交易电价须大于 0", "the traded price must be above 0")

    @property
    def price(self) -> Decimal:
        """The price a bill should carry: the traded price, or catalogue − discount."""
        if self.traded_price is not None:
            return self.traded_price
        return self.catalogue_price - self.discount

    @property
    def gap(self) -> Decimal:
        """Saving per kWh: catalogue − traded price."""
        return self.catalogue_price - self.price


def in_period(period_start: date, period_end: date, start: date, end: date) -> bool:
    """A bill falls under a contract when its period ends within the contract's period."""
    return start <= period_end <= end


def bill_saving(kwh: Decimal | None, terms: Terms, unit_price: Decimal | None = None
                ) -> Decimal:
    """kWh × (catalogue price − traded price), to the fen — what the bill realised: a bill
    billed above the traded price (the discount missing, a TRADING_DISCOUNT finding)
    realised only ``catalogue − billed price`` per kWh (nothing at the catalogue price),
    never more than the contract's gap nor less than 0. ``unit_price`` None: the bill is
    taken to honour the contract."""
    if not kwh:
        return Decimal("0.00")
    gap = terms.gap
    if unit_price is not None:
        gap = min(gap, max(Decimal(0), terms.catalogue_price - Decimal(unit_price)))
    return fen(Decimal(kwh) * gap)


def unit_price_of(unit_price: Decimal | None, amount: Decimal | None,
                  kwh: Decimal | None) -> Decimal | None:
    """The billed unit price: as printed, or amount ÷ kWh."""
    if unit_price is not None:
        return Decimal(unit_price)
    if amount is not None and kwh:
        return Decimal(amount) / Decimal(kwh)
    return None


def check_bill(unit_price: Decimal | None, terms: Terms, contract: str,
               tolerance: Decimal = DEFAULT_TOLERANCE, severity: str = WARN) -> Finding | None:
    """TRADING_DISCOUNT: the billed unit price above the traded price beyond ``tolerance``
    (the discount is missing or wrong); None when the bill is right or has no price."""
    if unit_price is None:
        return None
    expected = terms.price
    if unit_price <= expected + tolerance:
        return None
    lost = unit_price - expected
    return Finding(
        CODE, severity,
        f"市场化交易合同 {contract} 的优惠未体现：单价 {unit_price:.4f} 高于交易电价 "
        f"{expected:.4f}（容差 {tolerance}）",
        f"trading contract {contract}: unit price {unit_price:.4f} above the traded price "
        f"{expected:.4f} (tolerance {tolerance}); the discount is missing or wrong",
        {"unit_price": str(unit_price), "traded_price": str(expected),
         "catalogue_price": str(terms.catalogue_price), "over_per_kwh": str(lost),
         "tolerance": str(tolerance), "contract": contract})
