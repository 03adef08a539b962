"""油机发电 更正: a paid, unbilled run's money or site corrected after its payment was posted.
The journal is never rewritten: the standing payment entry is reversed (at the site and
cost it was posted) and the new one posted, so GEN_ADVANCE at each site follows the run and
the books check; the audit log keeps before, after and reason; the same correction again
changes nothing; a billed run and another city's clerk are refused; billing the corrected
run gives GENERATOR lines summing to its new cost."""

from datetime import date
from decimal import Decimal

import pytest

from tests.helpers import write_csv
from tests.integration.test_generator import set_up
from tests.integration.test_generator_reimport import R1, RUN_HEADER, advance, refused_by, row
from towerledger.access.models import AuditEntry
from towerledger.analysis.books import check_books
from towerledger.domain.errors import DomainError
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalEntry
from towerledger.programs.generator import services
from towerledger.programs.generator.correction import correct_run
from towerledger.programs.generator.models import Finding, Run
from towerledger.settlement.models import Line

D = Decimal
pytestmark = pytest.mark.django_db
R1_MONEY = {"litres": D("26.50"), "fuel_price": D("7.8600"), "labour_cost": D("150.00"),
            "transport_cost": D("60.00"), "paid_date": date(2024, 7, 22)}
TODAY = date(2024, 7, 25)


def imported(users, tmp_path):
    assert run_import("generator_runs", set_up(tmp_path), users["clerk_zz"]).stored
    assert advance() == D("836.58") and check_books() == []   # paid, 418.29 each
    return Run.objects.get(run_no="R-2407-01")


def gen_pay(run_no):
    return sorted(JournalEntry.objects.filter(kind="GEN_PAY", reference__contains=run_no)
                  .values_list("reference", flat=True))


def test_correct_litres_then_again_then_bill(users, tmp_path):
    clerk = users["clerk_zz"]
    r1 = imported(users, tmp_path)
    # the import refuses the change and names the page action
    [(column, e)] = refused_by(tmp_path, clerk, row(R1, **{"耗油量(升)": "30.00"}))
    assert column == "litres" and "请在该油机发电记录页面使用『更正』" in e.zh
    assert "use Correct on the run's page" in e.en

    done = correct_run(r1, clerk, reason="油量抄错，以加油小票为准 30 升",
                       **(R1_MONEY | {"litres": D("30.00")}), today=TODAY)
    assert done.changed and done.run.cost == D("445.80")          # 235.80 + 150 + 60
    assert done.references == ["GEN-REV-R-2407-01#1", "GEN-PAY-R-2407-01#1"]
    assert gen_pay("R-2407-01") == ["GEN-PAY-R-2407-01", "GEN-PAY-R-2407-01#1",
                                    "GEN-REV-R-2407-01#1"]
    reversal = JournalEntry.objects.get(reference="GEN-REV-R-2407-01#1")
    assert reversal.date == TODAY
    assert {(x.account, x.debit, x.credit, x.site.site_code if x.site else None)
            for x in reversal.lines.all()} == {("CASH", D("418.29"), D("0.00"), None),
                                               ("GEN_ADVANCE", D("0.00"), D("418.29"),
                                                "ZZ001")}
    assert advance() == D("445.80") + D("418.29")                 # R-1 corrected + R-3
    assert check_books() == []
    r1.refresh_from_db()
    assert (r1.litres, r1.cost, r1.payment_version) == (D("30.00"), D("445.80"), 1)
    entry = AuditEntry.objects.get(action="generator.correct")
    assert entry.object_key == "R-2407-01" and entry.reason == "油量抄错，以加油小票为准 30 升"
    assert entry.before["litres"] == "26.50" and entry.before["cost"] == "418.29"
    assert entry.after["litres"] == "30.00" and entry.after["cost"] == "445.80"
    assert entry.user == clerk
    # the run audits ran again: 30 L is no longer R-3's copy (26.50 L), only overlapping it
    assert {f.code for f in Finding.objects.filter(run=r1, resolved_at=None,
                                                   severity="BLOCK")} == {"GEN_OVERLAP"}

    # the same correction again: nothing new (no entry, no audit, no version)
    again = correct_run(r1.pk, clerk, reason="再次提交", **(R1_MONEY | {"litres": D("30.00")}),
                        today=TODAY)
    assert not again.changed and again.references == []
    assert gen_pay("R-2407-01") == ["GEN-PAY-R-2407-01", "GEN-PAY-R-2407-01#1",
                                    "GEN-REV-R-2407-01#1"]
    assert AuditEntry.objects.filter(action="generator.correct").count() == 1
    assert Run.objects.get(pk=r1.pk).payment_version == 1
    # a re-import of the corrected row changes nothing and posts nothing
    fixed = run_import("generator_runs", write_csv(tmp_path / "fixed.csv", RUN_HEADER, [
        row(R1, **{"耗油量(升)": "30.00"})]), clerk)
    assert fixed.stored and fixed.counts.unchanged == 1
    assert len(gen_pay("R-2407-01")) == 3 and check_books() == []

    # billing the corrected run: its GENERATOR lines sum to the new cost
    f = Finding.objects.get(run=r1, code="GEN_OVERLAP", resolved_at=None)
    services.resolve_finding(f.pk, clerk, "R-2407-03 为重复录入")
    billed = services.bill_runs(clerk, run_ids=[r1.pk], today=TODAY)
    assert billed.billed == ["R-2407-01"]
    lines = Line.objects.filter(kind="GENERATOR")
    assert sum(x.cost_share for x in lines) == D("445.80")
    assert advance() == D("418.29") and check_books() == []        # only R-3 left unbilled

    # now billed: refused, bilingual, nothing written
    with pytest.raises(DomainError) as exc:
        correct_run(r1, clerk, reason="再改", **(R1_MONEY | {"litres": D("31.00")}))
    assert exc.value.code == "conflict"
    assert "已出账" in exc.value.zh and "调账" in exc.value.zh
    assert "billed" in exc.value.en and "GENERATOR" in exc.value.en
    assert Run.objects.get(pk=r1.pk).litres == D("30.00")
    assert AuditEntry.objects.filter(action="generator.correct").count() == 1


def test_site_change_moves_the_advance_and_unpaying_reverses_it(users, tmp_path):
    admin = users["admin"]
    r1 = imported(users, tmp_path)
    # ZZ002's outage, so the run moves there (its site follows the outage)
    moved = correct_run(r1, admin, reason="发电单填错站址，实为 ZZ002", **R1_MONEY,
                        outage_no="O-2407-02", today=TODAY)
    assert moved.changed and moved.run.site.site_code == "ZZ002"
    assert advance("ZZ001") == D("418.29") and advance("ZZ002") == D("418.29")
    assert check_books() == []
    # a site whose outage the run does not have, without the outage: refused
    with pytest.raises(DomainError) as exc:
        correct_run(r1, admin, reason="x", **R1_MONEY, site_code="ZZ001")
    assert "停电编号" in exc.value.zh and "outage_no" in exc.value.en
    # un-paid: the standing payment (#1 at ZZ002) reversed, nothing new
    unpaid = correct_run(r1, admin, reason="未实际付款", **(R1_MONEY | {"paid_date": None}),
                         outage_no="O-2407-02", today=TODAY)
    assert unpaid.references == ["GEN-REV-R-2407-01#2"]
    assert advance("ZZ002") == D("0.00") and check_books() == []
    # not paid any more: corrected by a file again, and a file paying it posts version 2
    with pytest.raises(DomainError):
        correct_run(r1, admin, reason="x", **R1_MONEY)
    paid = write_csv(tmp_path / "pay.csv", RUN_HEADER,
                     [row(R1, 停电编号="O-2407-02", 支付日期="2024-07-26")])
    assert run_import("generator_runs", paid, admin).stored
    assert JournalEntry.objects.filter(reference="GEN-PAY-R-2407-01#2").exists()
    assert advance("ZZ002") == D("418.29") and check_books() == []


def test_scope_reason_and_values(users, tmp_path):
    r1 = imported(users, tmp_path)
    for user in (users["clerk_ly"], users["viewer"], users["cmcc"]):
        with pytest.raises(DomainError) as exc:
            correct_run(r1, user, reason="越权", **(R1_MONEY | {"litres": D("1.00")}))
        assert exc.value.code == "out_of_scope"
    with pytest.raises(DomainError) as exc:     # a site of another city: refused
        correct_run(r1, users["clerk_zz"], reason="x", **R1_MONEY, outage_no="O-2407-03")
    assert exc.value.code == "out_of_scope"
    with pytest.raises(DomainError):
        correct_run(r1, users["clerk_zz"], reason=" ", **R1_MONEY)
    with pytest.raises(DomainError) as exc:
        correct_run(r1, users["clerk_zz"], reason="x", **(R1_MONEY | {"litres": D("-1")}))
    assert "litres" in exc.value.en and "耗油量" in exc.value.zh
    assert Run.objects.get(pk=r1.pk).litres == D("26.50")
    assert not AuditEntry.objects.filter(action="generator.correct").exists()
    assert check_books() == []
