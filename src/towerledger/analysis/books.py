"""`towerledger check` (对账检查): the books agree with themselves — the receivables
core's checks (``settlement.checks``), collection's (``collection.checks``) and the rules
the programs register for their own accounts (``BOOK_RULES``).

A program (DOMAIN.md §7) lives above this layer, so its rules come to the check the way a
program's audit comes to ``bills.audit.EXTRA_CHECKS``: its app's ``ready()`` calls
``register_rule`` with an ``AccountRule`` — "this account's balance equals what my own
records say" (accruals: ACCRUED = the accruals posted and not yet reversed; rent:
RENT_ADVANCE = rent paid and not yet passed through …) — or with any callable
``rule(limit) -> [problem, …]``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from towerledger.collection.checks import collection_checks
from towerledger.settlement.checks import _balance, one_pass, q, run_checks

Rule = Callable[[int], list[str]]

# name → rule; a program's app registers its rules from ready() (``register_rule``)
BOOK_RULES: dict[str, Rule] = {}


@dataclass(frozen=True)
class AccountRule:
    """A journal account's balance must equal ``expected()``, computed from a program's own
    records. ``name`` names the rule in the report (中文 English), ``what`` the expected
    figure; ``credit_side``: the balance is credits − debits (a liability or income), else
    debits − credits (an asset)."""

    name: str
    account: str
    expected: Callable[[], Decimal]
    what: str
    credit_side: bool = False

    def balance(self) -> Decimal:
        b = _balance(self.account)
        return -b if self.credit_side else b

    def __call__(self, limit: int = 20) -> list[str]:
        have, want = self.balance(), q(self.expected())
        if have == want:
            return []
        return [f"{self.name}: {self.account} {have} ≠ {self.what} {want} "
                f"(差额 difference {have - want})"]


def register_rule(rule: Rule, name: str | None = None) -> None:
    """Add ``rule`` to the check (idempotent: a rule of the same name is replaced)."""
    BOOK_RULES[name or getattr(rule, "name", None) or rule.__qualname__] = rule


def check_books(limit: int = 20) -> list[str]:
    """Every problem found, in words (Chinese / English); an empty list means all is well."""
    with one_pass():   # the journal's balances read once for every rule
        problems = run_checks(limit) + collection_checks(limit)
        for rule in BOOK_RULES.values():
            problems += rule(limit)
    return problems
