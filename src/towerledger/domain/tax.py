"""税负因子: the gross-up that keeps the tower company whole on resold power (DOMAIN.md §3)."""

from decimal import ROUND_HALF_UP, Decimal

from towerledger.domain.codes import InvoiceType

OUTPUT_VAT_RATE = Decimal("0.13")

# Input VAT the tower company can deduct, by the bill's invoice type.
INPUT_VAT_RATE = {
    InvoiceType.SPECIAL_13: Decimal("0.13"),
    InvoiceType.SPECIAL_9: Decimal("0.09"),
    InvoiceType.SPECIAL_3: Decimal("0.03"),
    InvoiceType.SPECIAL_1: Decimal("0.01"),
    InvoiceType.GENERAL: Decimal("0"),
    InvoiceType.RECEIPT: Decimal("0"),
}

FACTOR_PLACES = Decimal("0.0001")


def default_tax_factor(r_in: Decimal, r_out: Decimal = OUTPUT_VAT_RATE) -> Decimal:
    """f = (1 + r_out) / (1 + r_in) − 1, kept to 4 decimals (half-up)."""
    return ((1 + r_out) / (1 + r_in) - 1).quantize(FACTOR_PLACES, rounding=ROUND_HALF_UP)


def default_tax_factor_table() -> dict[InvoiceType, Decimal]:
    """The defaults seeded into the configured table: 0 %, 3.67 %, 9.71 %, 11.88 %, 13 %, 13 %."""
    return {t: default_tax_factor(r) for t, r in INPUT_VAT_RATE.items()}
