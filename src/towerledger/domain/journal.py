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

The programs (DOMAIN.md §7) add their own, each named once here:
  RENT_ADVANCE   场租垫付 rent paid to landlords, to pass through or bear (asset, per site)
  RENT_DEPOSIT   场租押金 deposits paid to landlords (asset, per site)
  RENT_COST      铁塔自担场租 rent the tower bears (expense, per site); a lump-sum site fee
                 (场地费包干) recovers it
  GEN_ADVANCE    发电垫付 generator runs paid, to bill to the operators (asset, per site)
  GEN_COST       铁塔自担发电 generator cost the tower bears (expense, per site)
  SHARING_INCOME 效益分成收入 the tower's share of measured savings (income)
  RECOVERY       追缴款 money recovered on a theft case, not yet credited back (liability)
  ACCRUAL_COST   暂估电费 electricity used and not yet billed (expense, per site)
  ACCRUED        暂估应付 its accrued liability, reversed the next month (liability, per site)
  OPENING        期初余额 the legacy ledger's balances taken over (equity)

A line of any kind books the same way on the operator's side (UNCONFIRMED when pushed,
RECEIVABLE when confirmed or born confirmed); what differs by kind is the counter account,
``COUNTER`` below.
"""

from dataclasses import dataclass
from decimal import Decimal

CHART = ("CASH", "ADVANCE", "UNCONFIRMED", "RECEIVABLE", "TOWER_COST", "TAX_FACTOR", "UNAPPLIED",
         "RENT_ADVANCE", "RENT_DEPOSIT", "RENT_COST", "GEN_ADVANCE", "GEN_COST",
         "SHARING_INCOME", "RECOVERY", "ACCRUAL_COST", "ACCRUED", "OPENING")

# The account a program line's cost share is booked against (its counter account): charged
# to an operator it credits this account (the cost recovered, or the income earned); the
# tower-borne part of the same cost is debited to ``TOWER_ACCOUNT`` instead.
COUNTER = {
    "LUMP_SUM": "TOWER_COST",            # 电费包干 recovers tower-borne electricity
    "RECOVERY_CREDIT": "RECOVERY",       # 追缴退还: the recovered money handed back
    "SAVINGS_SHARE": "SHARING_INCOME",   # 效益分成
    "RENT": "RENT_ADVANCE",              # 场租: rent advanced to the landlord
    "SITE_FEE_LUMP_SUM": "RENT_COST",    # 场地费包干 recovers tower-borne rent
    "GENERATOR": "GEN_ADVANCE",          # 油机发电: generator runs paid
    "OPENING": "OPENING",                # 历史数据: the legacy ledger's balance
}
TOWER_ACCOUNT = {"RENT": "RENT_COST", "GENERATOR": "GEN_COST", "RECOVERY_CREDIT": "TOWER_COST"}
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
