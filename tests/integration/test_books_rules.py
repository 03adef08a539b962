"""`towerledger check` and the programs' own book rules (``analysis.books.BOOK_RULES``): the
check passes after a close with accruals, open or reversed, and names the rule — with the
difference — when a journal line or an accrual is tampered with."""

from datetime import date
from decimal import Decimal

import pytest

from tests.integration.test_accruals import JUNE, REST_OF_JUNE, WORKED
from tests.integration.test_bills import import_bills
from towerledger.analysis.books import BOOK_RULES, AccountRule, check_books
from towerledger.analysis.close import close_month
from towerledger.domain.journal import Posting
from towerledger.ledger.models import JournalLine
from towerledger.ledger.services import post_entries
from towerledger.org.models import Province
from towerledger.programs.accruals.models import Accrual, ReverseOn
from towerledger.programs.accruals.services import reverse_covered, set_reverse_on

D = Decimal
RULE = "暂估应付与未冲回暂估不符 accrual rule"


@pytest.fixture
def worked(province, tmp_path):
    result = import_bills(tmp_path, WORKED, name="worked.csv")
    assert result.stored, [e.text() for e in result.errors]


def accrual_problems():
    return [p for p in check_books() if p.startswith(RULE)]


def test_the_programs_register_their_rules():
    names = {r.account for r in BOOK_RULES.values() if isinstance(r, AccountRule)}
    assert {"ACCRUED", "RENT_ADVANCE", "RENT_DEPOSIT", "GEN_ADVANCE", "RECOVERY"} <= names


def test_check_passes_after_a_close_reversing_next_month(worked, users):
    close_month(JUNE, users["admin"], as_of=date(2024, 7, 5))
    assert Accrual.objects.filter(posted_on__isnull=False).count() == 1
    assert check_books() == []


def test_open_accrual_checks_out_and_tampering_is_reported(worked, users, tmp_path):
    set_reverse_on(Province.objects.get(), ReverseOn.BILL_ARRIVES, users["admin"], "按账单冲回")
    close_month(JUNE, users["admin"], as_of=date(2024, 7, 5))
    a = Accrual.objects.get(month=JUNE, account__account_no="A-200")
    assert (a.amount, a.reversed_on) == (D("1264.67"), None)      # open: ACCRUED holds it
    assert check_books() == []
    # a journal line of the accrual changed by hand: the rule names itself and the difference
    ln = JournalLine.objects.get(entry__kind="ACCRUAL", account="ACCRUED", site__site_code="ZZ002")
    JournalLine.objects.filter(pk=ln.pk).update(credit=D("885.00"))
    assert accrual_problems() == [
        f"{RULE}: ACCRUED 1264.40 ≠ 未冲回暂估 open accruals 1264.67 (差额 difference -0.27)"]
    JournalLine.objects.filter(pk=ln.pk).update(credit=ln.credit)
    assert check_books() == []
    # the accrual marked reversed without its reversal entry: the liability is left over
    Accrual.objects.filter(pk=a.pk).update(reversed_on=date(2024, 7, 9))
    assert accrual_problems() == [
        f"{RULE}: ACCRUED 1264.67 ≠ 未冲回暂估 open accruals 0.00 (差额 difference 1264.67)"]
    Accrual.objects.filter(pk=a.pk).update(reversed_on=None)
    # the bill arrives: reversed in the books and in the table alike
    assert import_bills(tmp_path, [REST_OF_JUNE], name="rest.csv").stored
    assert reverse_covered(date(2024, 7, 20), users["admin"]) == 1
    assert check_books() == []


@pytest.mark.parametrize("account", ["ACCRUED", "RENT_ADVANCE", "RENT_DEPOSIT", "GEN_ADVANCE",
                                     "RECOVERY"])
def test_a_stray_entry_on_a_program_account_is_reported_by_its_rule(province, account):
    """An entry that balances (the trial balance stays zero) but has no program record
    behind it: only the account's own rule can see it."""
    post_entries([(date(2024, 6, 3), "MANUAL", f"stray-{account}", "stray",
                   [Posting(account, debit=D("12.34")), Posting("CASH", credit=D("12.34"))])])
    (rule,) = [r for r in BOOK_RULES.values() if getattr(r, "account", None) == account]
    diff = D("-12.34") if rule.credit_side else D("12.34")
    assert check_books() == [
        f"{rule.name}: {account} {diff} ≠ {rule.what} 0.00 (差额 difference {diff})"]
