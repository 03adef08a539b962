"""Corrections started by the tower side (issue 12): void a paid bill in every state of its
lines, re-allocate after a master-data correction, refunds split by the original shares —
each idempotent, reasoned, scoped, logged and leaving the books balanced."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from tests.integration.test_collection import receipts
from tests.integration.test_settlement import paid_may
from towerledger.access.models import AuditEntry
from towerledger.analysis.books import check_books
from towerledger.bills.models import Bill, Refund
from towerledger.collection import corrections as collection_corrections
from towerledger.collection import services as collection
from towerledger.collection.models import Receipt
from towerledger.ledger.models import JournalLine
from towerledger.settlement import corrections, refunds, services
from towerledger.settlement.models import Dispute, Line
from towerledger.sites.models import Tenancy

D = Decimal
OPS = ("T-ZZ001-CMCC", "T-ZZ001-CUCC", "T-ZZ001-CTCC")


def current(b):
    return {ln.tenancy.tenancy_id: ln for ln in Line.objects.current().filter(bill=b)
            .select_related("tenancy")}


def deem_all():
    services.run_deadlines(timezone.localdate() + timedelta(days=11))


def assert_clean():
    t = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert t["d"] == t["c"]
    assert check_books() == []


def test_void_a_pending_bill_reverses_every_line_and_the_payment(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    before = current(b)
    ln = before["T-ZZ001-CTCC"]
    d = services.dispute_line(ln.pk, users["ctcc_zz"], "DUPLICATE", "duplicate bill")
    with pytest.raises(corrections.CorrectionError):
        collection_corrections.void_bill(b.pk, users["clerk_zz"], "  ")   # a reason needed
    preview = collection_corrections.void_bill(b.pk, users["clerk_zz"], "重复缴费", preview=True)
    assert {c.tenancy: (c.before, c.after) for c in preview.changes} == {
        k: (v.receivable, D("0.00")) for k, v in before.items()}
    assert not preview.done and Bill.objects.get(pk=b.pk).status == "PAID"   # wrote nothing
    plan = collection_corrections.void_bill(b.pk, users["clerk_zz"], "重复缴费")
    assert plan.done and Bill.objects.get(pk=b.pk).status == "VOID"
    after = current(b)
    assert set(after) == set(OPS)
    for key, old in before.items():
        new = after[key]
        assert (new.kind, new.receivable, new.status) == ("ADJUSTMENT", D("0.00"), "CONFIRMED")
        assert new.adjusts_id == old.pk and new.root_id == old.chain_root_id
        assert "重复缴费" in new.trace["text_zh"] and new.trace["reason"] == "重复缴费"
        assert Line.objects.get(pk=old.pk).status == "SUPERSEDED"
    d.refresh_from_db()
    assert d.status == "ACCEPTED" and d.adjustment_id == after["T-ZZ001-CTCC"].pk
    # nothing of the bill is left in the books: its advance, receivables and tax factor
    for account in ("ADVANCE", "UNCONFIRMED", "TAX_FACTOR"):
        s = JournalLine.objects.filter(account=account, site__site_code="ZZ001").aggregate(
            d=Sum("debit"), c=Sum("credit"))
        assert s["d"] == s["c"], account
    assert AuditEntry.objects.filter(action="void", object_key=plan.subject,
                                     reason="重复缴费").count() == 1
    assert_clean()
    again = collection_corrections.void_bill(b.pk, users["clerk_zz"], "重复缴费")
    assert again.already and not again.done
    assert Line.objects.filter(bill=b).count() == 7   # 3 + tower + 3 reversals, once
    assert_clean()


def test_void_a_confirmed_bill_on_a_statement_lands_on_the_next(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    deem_all()
    month = timezone.localdate().replace(day=1)
    first = {s.operator.code: s for s in collection.issue_statements(month, users["admin"])}
    cmcc = first["CMCC"]
    was = cmcc.receivable
    collection_corrections.void_bill(b.pk, users["admin"], "重复缴费 duplicate")
    cmcc.refresh_from_db()
    assert cmcc.receivable == was              # an issued statement never changes
    nxt = {s.operator.code: s for s in collection.issue_statements(month, users["admin"])}
    ours = current(b)["T-ZZ001-CMCC"]
    old = Line.objects.get(pk=ours.adjusts_id)
    assert nxt["CMCC"].receivable == -old.receivable   # the negative difference
    assert ours.statement_id == nxt["CMCC"].pk
    assert_clean()


def test_void_a_written_off_bill_gives_the_money_back_to_unapplied(province, users,
                                                                    tmp_path):
    b = paid_may(tmp_path, users)
    deem_all()
    line = current(b)["T-ZZ001-CMCC"]
    receipts(tmp_path, [["R-1", "CMCC", "郑州市", "500.00",
                         timezone.localdate().isoformat(), ""]])
    r = Receipt.objects.get()
    collection.manual_match(r.pk, [line.pk], users["clerk_zz"], "paid")
    assert Line.objects.get(pk=line.pk).written_off == D("500.00")
    with pytest.raises(corrections.CorrectionError) as e:   # the core refuses alone
        corrections.void_bill(b.pk, users["clerk_zz"], "dup")
    assert e.value.code == "conflict"
    collection_corrections.void_bill(b.pk, users["clerk_zz"], "重复缴费")
    r.refresh_from_db()
    assert (r.applied, r.status) == (D("0.00"), "UNMATCHED")   # back to unapplied cash
    assert Line.objects.get(pk=line.pk).written_off == D("0.00")
    assert Bill.objects.get(pk=b.pk).status == "VOID"
    assert_clean()


def test_corrections_are_scoped_and_staff_only(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    for who in ("clerk_ly", "viewer", "cmcc"):
        for call in (collection_corrections.void_bill, collection_corrections.reallocate_bill):
            with pytest.raises(corrections.CorrectionError) as e:
                call(b.pk, users[who], "not mine")
            assert e.value.code in ("not_found", "forbidden")
        with pytest.raises(corrections.CorrectionError):
            refunds.record_refund("A-100", "RF-1", "10.00", timezone.localdate(), users[who],
                                  "not mine")
    assert Bill.objects.get(pk=b.pk).status == "PAID" and not Refund.objects.exists()


def test_reallocate_after_an_end_date_correction_pushes_the_differences(province, users,
                                                                         tmp_path):
    b = paid_may(tmp_path, users)
    deem_all()   # confirmed lines too are corrected by a new version
    before = current(b)
    assert collection_corrections.reallocate_bill(b.pk, users["clerk_zz"], "nothing").already
    Tenancy.objects.filter(tenancy_id="T-ZZ001-CUCC").update(end_date=date(2024, 5, 20))
    preview = collection_corrections.reallocate_bill(b.pk, users["clerk_zz"], "CUCC 5/20 终止",
                                                     preview=True)
    assert {c.tenancy for c in preview.changes} == set(OPS)
    plan = collection_corrections.reallocate_bill(b.pk, users["clerk_zz"], "CUCC 5/20 终止")
    after = current(b)
    assert {c.tenancy: c.after for c in plan.changes} == {
        k: v.receivable for k, v in after.items()}
    assert after["T-ZZ001-CUCC"].receivable < before["T-ZZ001-CUCC"].receivable
    change = sum((after[k].receivable - before[k].receivable for k in OPS), D(0))
    assert plan.total_difference == change
    tower = Line.objects.tower_borne().filter(bill=b).aggregate(s=Sum("cost_share"))["s"]
    assert sum(ln.cost_share for ln in after.values()) + D(str(tower)) == b.amount
    for k in OPS:
        ln = after[k]
        assert ln.kind == "ADJUSTMENT" and ln.status == "PUSHED"
        assert ln.root_id == before[k].chain_root_id
        assert "→" in ln.trace["text_zh"] and ln.trace["before"] == str(before[k].receivable)
    assert AuditEntry.objects.filter(action="reallocate", reason="CUCC 5/20 终止").exists()
    assert_clean()
    again = collection_corrections.reallocate_bill(b.pk, users["clerk_zz"], "CUCC 5/20 终止")
    assert again.already and current(b) == after
    assert_clean()


def test_a_refund_is_split_by_the_original_shares_to_the_fen(province, users, tmp_path):
    b = paid_may(tmp_path, users)
    bore = current(b)
    for reason in ("", "x" * 201):
        with pytest.raises(corrections.CorrectionError):
            refunds.record_refund("A-100", "RF-1", "100.00", timezone.localdate(),
                                  users["clerk_zz"], reason)
    plan = refunds.record_refund("A-100", "RF-1", "100.00", timezone.localdate(),
                                 users["clerk_zz"], "供电局退费 overcharge", bill_no=b.bill_no)
    credits = Line.objects.filter(kind="CREDIT").select_related("tenancy")
    assert sum(ln.cost_share for ln in credits) == D("-100.00")
    whole = sum(ln.cost_share for ln in bore.values())
    for ln in credits:
        exact = D("100.00") * bore[ln.tenancy.tenancy_id].cost_share / whole
        assert abs(-ln.cost_share - exact) < D("0.01")
        assert ln.status == "CONFIRMED" and ln.receivable < 0
        assert ln.receivable == ln.cost_share + ln.tax_amount
        assert "overcharge" in ln.trace["text_zh"]
    assert len(plan.changes) == 3
    assert AuditEntry.objects.filter(action="refund", reason="供电局退费 overcharge").exists()
    assert_clean()
    again = refunds.record_refund("A-100", "RF-1", "100.00", timezone.localdate(),
                                  users["clerk_zz"], "供电局退费 overcharge")
    assert again.already and Line.objects.filter(kind="CREDIT").count() == 3
    with pytest.raises(corrections.CorrectionError) as e:
        refunds.record_refund("A-100", "RF-1", "90.00", timezone.localdate(),
                              users["clerk_zz"], "other amount")
    assert e.value.code == "conflict"
    # a credit nets on the next statement and is never 'paid' by a receipt
    deem_all()
    st = {s.operator.code: s for s in collection.issue_statements(
        timezone.localdate().replace(day=1), users["admin"])}["CMCC"]
    cmcc = Line.objects.filter(statement=st)
    assert st.receivable == sum(ln.receivable for ln in cmcc)
    assert any(ln.receivable < 0 for ln in cmcc)
    receipts(tmp_path, [["R-9", "CMCC", "郑州市", "99999.00",
                         timezone.localdate().isoformat(), st.number]])
    collection.auto_match(user=users["admin"])
    assert not Line.objects.filter(kind="CREDIT").exclude(written_off=0).exists()
    assert_clean()
    with pytest.raises(corrections.CorrectionError):   # a refunded bill is not voided
        collection_corrections.void_bill(b.pk, users["admin"], "dup")
    assert Dispute.objects.count() == 0


def test_the_cli_previews_then_applies_and_refuses_without_a_reason(province, users, tmp_path,
                                                                    monkeypatch):
    from typer.testing import CliRunner

    from towerledger import cli
    from towerledger.cli import app

    b = paid_may(tmp_path, users)
    # the table unwrapped: the console was made at import, from the terminal of that moment
    monkeypatch.setattr(cli.console, "width", 200)
    runner = CliRunner()
    args = ["void-bill", "--account", "A-100", "--bill", "B-2405", "--user", "clerk_zz"]
    shown = runner.invoke(app, [*args, "--reason", "重复缴费"])
    assert shown.exit_code == 0, shown.output
    assert "T-ZZ001-CMCC" in shown.output and "nothing written" in shown.output
    assert Bill.objects.get(pk=b.pk).status == "PAID"
    refused = runner.invoke(app, [*args, "--reason", " ", "--yes"])
    assert refused.exit_code == 1 and "a reason is required" in refused.output
    other = runner.invoke(app, ["void-bill", "--account", "A-100", "--bill", "B-2405",
                                "--user", "clerk_ly", "--reason", "x", "--yes"])
    assert other.exit_code == 1 and Bill.objects.get(pk=b.pk).status == "PAID"
    done = runner.invoke(app, [*args, "--reason", "重复缴费", "--yes"])
    assert done.exit_code == 0, done.output
    assert Bill.objects.get(pk=b.pk).status == "VOID"
    again = runner.invoke(app, [*args, "--reason", "重复缴费", "--yes"])
    assert again.exit_code == 0 and "already done" in again.output
    assert_clean()


def test_a_stated_chain_corrected_twice_counts_once_on_the_next_statement(province, users,
                                                                          tmp_path):
    """Stated at 'old'; re-allocated (pushed again), disputed, answered in part and
    confirmed: the next statement carries 'new − old', not 'new' beside 'old'."""
    b = paid_may(tmp_path, users)
    deem_all()
    month = timezone.localdate().replace(day=1)
    collection.issue_statements(month, users["admin"])
    old = current(b)["T-ZZ001-CTCC"]
    Tenancy.objects.filter(tenancy_id="T-ZZ001-CUCC").update(end_date=date(2024, 5, 20))
    collection_corrections.reallocate_bill(b.pk, users["clerk_zz"], "CUCC 5/20 终止")
    pushed = current(b)["T-ZZ001-CTCC"]
    d = services.dispute_line(pushed.pk, users["ctcc_zz"], "RATIO", "too much")
    asked = old.receivable + D("10.00")
    assert asked < pushed.receivable
    final = services.answer_dispute(d.pk, users["clerk_zz"], "PARTIAL", "agreed", asked)
    services.confirm_lines([final.pk], users["admin"])
    nxt = {s.operator.code: s for s in collection.issue_statements(month, users["admin"])}
    assert nxt["CTCC"].receivable == D("10.00")
    assert_clean()


def test_a_void_bill_bears_no_tower_cost_in_the_monthly_figures(province, users, tmp_path):
    from tests.integration.test_bills import GRID, bill, import_bills
    from towerledger.analysis.kpi import compute

    assert import_bills(tmp_path, [GRID]).stored          # paid 2024-06-05 on import
    grid = bill("A-200", "G-2405")
    assert Line.objects.tower_borne().filter(bill=grid, cost_share__gt=0).exists()

    def tower_cost():
        return sum(D(str(r["figures"].get("tower_cost", 0))) for r in compute(date(2024, 6, 1))
                   if r["level"] == "PROVINCE" and r["operator"] == "*")

    assert tower_cost() > 0
    collection_corrections.void_bill(grid.pk, users["admin"], "重复缴费")
    assert tower_cost() == 0
    assert_clean()
