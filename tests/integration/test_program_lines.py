"""The programs' one door to the operators (settlement.program_lines): a charge is pushed
for confirmation with its explanation, a credit is confirmed at birth, the tower's part is
tower-borne, RESALE charges carry the tax factor, and the books still check out."""

from datetime import date
from decimal import Decimal

import pytest

from towerledger.analysis.books import check_books
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.org.models import Operator
from towerledger.settlement.models import Line
from towerledger.settlement.program_lines import Charge, push_program_lines
from towerledger.settlement.services import confirm_lines
from towerledger.sites.models import Site, Tenancy

D = Decimal
pytestmark = pytest.mark.django_db


def charge(tenancy_code, amount, **more):
    t = Tenancy.objects.select_related("site").get(tenancy_id=tenancy_code)
    return Charge(site_id=t.site_id, tenancy_id=t.pk, operator_id=t.operator_id,
                  amount=D(amount), period_start=date(2024, 6, 1), period_end=date(2024, 6, 30),
                  mode=t.settlement_mode, explanation={"text_zh": "测试", "text_en": "test"},
                  **more)


def test_charges_credits_and_the_tower_part_book_and_balance(users):
    site = Site.objects.get(site_code="ZZ001")
    lines = push_program_lines("GENERATOR", [
        charge("T-ZZ001-CMCC", "100.00", tax_factor=D("0.1300")),   # RESALE: grossed up
        charge("T-ZZ002-CMCC", "50.00"),                            # ON_BEHALF: as is
        Charge(site_id=site.pk, amount=D("30.00"), period_start=date(2024, 6, 1),
               period_end=date(2024, 6, 30), explanation={"text_zh": "铁塔", "text_en": "t"}),
        charge("T-ZZ001-CUCC", "0.00"),                             # nothing: no line
    ], user=users["admin"], reference="RUN-1", memo="发电 RUN-1", today=date(2024, 7, 2))
    assert len(lines) == 3
    resale, on_behalf, tower = (Line.objects.get(pk=ln.pk) for ln in lines)
    assert (resale.kind, resale.status, resale.receivable, resale.tax_amount) == (
        "GENERATOR", Line.Status.PUSHED, D("113.00"), D("13.00"))
    assert resale.confirm_due == date(2024, 7, 12) and resale.push_date == date(2024, 7, 2)
    assert resale.trace["text_zh"] == "测试" and resale.trace["program"] == "GENERATOR"
    assert (on_behalf.receivable, on_behalf.status) == (D("50.00"), Line.Status.PUSHED)
    assert (tower.status, tower.operator_id, tower.receivable) == (Line.Status.TOWER, None, 0)
    assert Line.objects.pending().filter(kind="GENERATOR").count() == 2
    entry = JournalEntry.objects.get(kind="GENERATOR", reference="RUN-1")
    by_account = {}
    for jl in JournalLine.objects.filter(entry=entry):
        by_account[jl.account] = by_account.get(jl.account, 0) + jl.debit - jl.credit
    assert by_account == {"UNCONFIRMED": D("163.00"), "TAX_FACTOR": D("-13.00"),
                          "GEN_COST": D("30.00"), "GEN_ADVANCE": D("-180.00")}
    confirm_lines([resale.pk], users["cmcc"], today=date(2024, 7, 3))
    assert Line.objects.get(pk=resale.pk).status == Line.Status.CONFIRMED
    # GEN_ADVANCE is credited without a payment in this test: only the receivables side is
    # checked here, and it holds
    assert not [p for p in check_books() if "UNCONFIRMED" in p or "RECEIVABLE" in p]


def test_a_credit_is_confirmed_at_birth_and_reduces_the_receivable(users):
    lines = push_program_lines("RECOVERY_CREDIT", [charge("T-ZZ002-CMCC", "-40.00")],
                               user=users["admin"], reference="CASE-1",
                               memo="追缴 CASE-1", today=date(2024, 7, 2))
    credit = Line.objects.get(pk=lines[0].pk)
    assert (credit.status, credit.receivable, credit.operator) == (
        Line.Status.CONFIRMED, D("-40.00"), Operator.objects.get(code="CMCC"))
    assert Line.objects.unstated().filter(pk=credit.pk).exists()   # on the next statement
    postings = {(jl.account, jl.debit, jl.credit) for jl in JournalLine.objects.filter(
        entry__kind="RECOVERY_CREDIT")}
    assert postings == {("RECEIVABLE", 0, D("40.00")), ("RECOVERY", D("40.00"), 0)}


def test_only_program_kinds_pass_through_the_door(users):
    with pytest.raises(ValueError):
        push_program_lines("ALLOCATION", [], user=users["admin"], reference="X", memo="x")
