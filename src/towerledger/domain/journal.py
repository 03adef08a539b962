"""Double-entry postings (复式记账): every entry balances, amounts are positive fen.

Accounts of the chart (科目):
  CASH        bank                         (asset)
  ADVANCE     电费垫付 advances paid for sites (asset, per site)
  UNCONFIRMED 待确认应收 pushed, not yet confirmed (asset, per site and operator)
  RECEIVABLE  应收电费 operators' confirmed receivable (asset; debited per site and
              operator on confirmation, credited per operator by write-off vouchers, whose
              line and site detail is their applications)
  TOWER_COST  铁塔自担 tower-borne electricity  (expense, per site)
  TAX_FACTOR  税负因子收入 tax-factor gross-up  (income)
  UNAPPLIED   预收 unapplied receipts          (liability, per operator)
"""

from dataclasses import dataclass
from decimal import Decimal

CHART = ("CASH", "ADVANCE", "UNCONFIRMED", "RECEIVABLE", "TOWER_COST", "TAX_FACTOR", "UNAPPLIED")
ZERO = Decimal("0.00")


class Unbalanced(ValueError):
    pass


@dataclass(frozen=True)
class Posting:
    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    site: str | None = None
    operator: str | None = None


def check_balanced(postings: list[Posting]) -> None:
    """Raise unless debits equal credits, every amount is a non-negative fen and one-sided."""
    if not postings:
        raise Unbalanced("an entry needs postings")
    for p in postings:
        if p.account not in CHART:
            raise Unbalanced(f"unknown account {p.account}")
        for amount in (p.debit, p.credit):
            if amount < 0 or amount != amount.quantize(Decimal("0.01")):
                raise Unbalanced(f"bad amount {amount} on {p.account}")
        if p.debit and p.credit:
            raise Unbalanced(f"a posting is a debit or a credit, not both ({p.account})")
    debit = sum(p.debit for p in postings)
    credit = sum(p.credit for p in postings)
    if debit != credit:
        raise Unbalanced(f"debits {debit} ≠ credits {credit}")
