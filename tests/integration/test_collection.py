"""Statements, receipts with automatic matching, manual match and unmatch, ageing and the
electronic reconciliation — through the real import path and services, on both databases."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from tests.helpers import write_csv
from tests.integration.test_settlement import paid_may
from towerledger.access.models import AuditEntry
from towerledger.analysis.books import check_books
from towerledger.collection import services
from towerledger.collection.models import MatchSetting, Receipt, Statement
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalEntry, JournalLine
from towerledger.org.models import Province
from towerledger.settlement import services as settlement
from towerledger.settlement.models import Application, Line

D = Decimal
RECEIPT_HEADER = ["回款编号", "运营商", "地市", "金额", "到账日期", "摘要"]


@pytest.fixture
def confirmed(province, users, tmp_path):
    """May's bill paid and allocated; every pushed line confirmed by its operator."""
    paid_may(tmp_path, users)
    settlement.run_deadlines(timezone.localdate() + timedelta(days=11))   # deemed confirmed
    return Line.objects.filter(status="CONFIRMED")


def month():
    return timezone.localdate().replace(day=1)


def receipts(tmp_path, rows, name="receipts.csv"):
    result = run_import("receipts", write_csv(tmp_path / name, RECEIPT_HEADER, rows,
                                              encoding="gb18030"))
    assert result.stored, [e.text() for e in result.errors]
    return result


def test_statements_gather_confirmed_lines_per_operator_and_city(confirmed, users):
    issued = services.issue_statements(month(), users["admin"])
    assert {(s.operator.code, s.city.name) for s in issued} == {
        ("CMCC", "郑州市"), ("CUCC", "郑州市"), ("CTCC", "郑州市")}
    for st in issued:
        lines = Line.objects.filter(statement=st)
        assert st.receivable == lines.aggregate(s=Sum("receivable"))["s"]
        assert st.lines_count == lines.count()
        assert sum(D(v["receivable"]) for v in st.by_mode.values()) == st.receivable
        assert st.number.startswith(f"DZ{month():%Y%m}-{st.operator.code}-")
    assert services.issue_statements(month(), users["admin"]) == []   # nothing left to state


def test_a_confirmed_statement_cannot_change(confirmed, users):
    st = next(s for s in services.issue_statements(month(), users["admin"])
              if s.operator.code == "CMCC")
    with pytest.raises(services.CollectionError):
        services.confirm_statement(st.pk, users["clerk_zz"])
    with pytest.raises(services.CollectionError) as other:
        services.confirm_statement(st.pk, users["ctcc_zz"])
    assert other.value.code == "not_found"
    services.confirm_statement(st.pk, users["cmcc"])
    with pytest.raises(services.CollectionError) as e:
        services.withdraw_statement(st.pk, users["admin"], "redo")
    assert e.value.code == "conflict" and "下期" in e.value.zh
    services.record_invoice(st.pk, users["clerk_zz"], "INV-0001", timezone.localdate(),
                            st.receivable)
    with pytest.raises(services.CollectionError):
        services.record_invoice(st.pk, users["clerk_zz"], "INV-0002", timezone.localdate(),
                                st.receivable)


def test_withdrawn_statement_frees_its_lines_for_the_next(confirmed, users):
    st = services.issue_statements(month(), users["admin"], operator="CTCC")[0]
    services.withdraw_statement(st.pk, users["admin"], "漏了一张账单")
    assert Statement.objects.get(pk=st.pk).status == "VOID"
    again = services.issue_statements(month(), users["admin"], operator="CTCC")[0]
    assert again.number.endswith("-02") and again.receivable == st.receivable


def test_receipts_match_by_reference_exact_amount_and_oldest_first(confirmed, users,
                                                                   tmp_path):
    sts = {s.operator.code: s for s in services.issue_statements(month(), users["admin"])}
    cmcc, cucc, ctcc = sts["CMCC"], sts["CUCC"], sts["CTCC"]
    today = timezone.localdate().isoformat()
    partial = cmcc.receivable - D("100.00")
    rows = [
        # partial payment naming the statement
        ["R-1", "CMCC", "郑州市", str(partial), today, f"电费 {cmcc.number}"],
        # exact amount of CUCC's one open statement, no reference
        ["R-2", "CUCC", "郑州市", str(cucc.receivable), today, "五月电费"],
        # over-payment naming CTCC's statement
        ["R-3", "CTCC", "郑州市", str(ctcc.receivable + D("50.00")), today, ctcc.number],
        # nothing to go on
        ["R-4", "CMCC", "郑州市", "12.34", today, ""],
    ]
    receipts(tmp_path, rows)
    r = {x.receipt_no: x for x in Receipt.objects.all()}
    assert (r["R-1"].status, r["R-1"].applied) == ("APPLIED", partial)
    assert (r["R-2"].status, r["R-2"].applied) == ("APPLIED", cucc.receivable)
    assert (r["R-3"].status, r["R-3"].unapplied) == ("PARTIAL", D("50.00"))   # 预收
    assert (r["R-4"].status, r["R-4"].applied) == ("UNMATCHED", D("0.00"))
    rules = dict(Application.objects.values_list("receipt__receipt_no", "rule").distinct())
    assert rules == {"R-1": "REFERENCE", "R-2": "AMOUNT", "R-3": "REFERENCE"}
    logged = AuditEntry.objects.get(action="write_off", object_type="receipt", object_key="R-1")
    assert logged.after["rule"] == "REFERENCE" and D(logged.after["amount"]) == partial
    assert {part.split(":")[0] for part in logged.after["lines"].split()} == {
        f"L{pk}" for pk in Application.objects.filter(receipt__receipt_no="R-1")
        .values_list("line_id", flat=True)}
    left = Line.objects.filter(statement=cmcc).aggregate(
        s=Sum("receivable") - Sum("written_off"))["s"]
    assert left == D("100.00")
    unapplied = JournalLine.objects.filter(account="UNAPPLIED", operator__code="CTCC") \
        .aggregate(s=Sum("credit") - Sum("debit"))["s"]
    assert unapplied == D("50.00")
    assert check_books() == []
    # the same file again changes nothing
    before = Application.objects.count()
    again = receipts(tmp_path, rows, name="again.csv")
    assert again.counts.created == 0 and Application.objects.count() == before
    assert JournalEntry.objects.filter(kind="RECEIPT").count() == 4
    assert check_books() == []
    # the province enables oldest-first: R-4 now pays CMCC's oldest open line
    MatchSetting.objects.create(province=Province.objects.get(), oldest_first=True)
    services.auto_match()
    assert Receipt.objects.get(receipt_no="R-4").applied == D("12.34")
    assert Application.objects.get(receipt__receipt_no="R-4").rule == "OLDEST"
    assert check_books() == []


def test_a_matching_run_posts_one_batch_voucher_per_operator(confirmed, users, tmp_path,
                                                                settings):
    """Imported with matching deferred, receipts wait; `towerledger match` then applies
    them and posts one voucher per operator for the run, which every receipt's audit entry
    names, and the lines' written-off amounts are their applications."""
    settings.TOWERLEDGER_MATCH_ON_IMPORT = False
    MatchSetting.objects.create(province=Province.objects.get(), oldest_first=True)
    today = timezone.localdate().isoformat()
    receipts(tmp_path, [["R-A", "CMCC", "郑州市", "10.00", today, ""],
                        ["R-B", "CMCC", "郑州市", "20.00", today, ""],
                        ["R-C", "CTCC", "郑州市", "5.00", today, ""]])
    assert set(Receipt.objects.values_list("status", flat=True)) == {"UNMATCHED"}
    assert not Application.objects.exists()
    result = services.auto_match(user=users["clerk_zz"])
    assert result.applied == D("35.00") and not result.unmatched
    vouchers = JournalEntry.objects.filter(kind="WRITE_OFF")
    assert vouchers.count() == 2
    for v in vouchers:
        code = v.reference.rsplit(":", 1)[1]
        lines = {(ln.account, ln.operator.code): (ln.debit, ln.credit) for ln in v.lines.all()}
        paid = Application.objects.filter(receipt__operator__code=code).aggregate(
            s=Sum("amount"))["s"]
        assert lines == {("UNAPPLIED", code): (paid, D("0")), ("RECEIVABLE", code): (D("0"), paid)}
    run = vouchers.first().reference.split(":")[0]
    first, last = (int(x) for x in run[1:].split("-"))
    assert set(Application.objects.values_list("pk", flat=True)) == set(range(first, last + 1))
    for no in ("R-A", "R-B", "R-C"):
        assert AuditEntry.objects.get(action="write_off", object_key=no).after["voucher"] == run
    for ln in Line.objects.filter(applications__isnull=False).distinct():
        assert ln.written_off == sum(a.amount for a in ln.applications.all())
    assert check_books() == []
    assert services.auto_match().applications == 0      # nothing is matched twice
    assert vouchers.count() == 2


def test_a_changed_receipt_is_refused_with_every_bad_row(province, tmp_path):
    today = timezone.localdate()
    receipts(tmp_path, [["R-9", "CMCC", "郑州市", "10.00", today.isoformat(), ""]])
    bad = run_import("receipts", write_csv(tmp_path / "bad.csv", RECEIPT_HEADER, [
        ["R-9", "CMCC", "郑州市", "11.00", today.isoformat(), ""],
        ["R-10", "XXX", "郑州市", "1", today.isoformat(), ""],
        ["R-11", "CMCC", "火星市", "1", today.isoformat(), ""],
        ["R-12", "CMCC", "郑州市", "1", (today + timedelta(days=3)).isoformat(), ""],
    ]))
    assert not bad.stored and {e.row for e in bad.errors} == {2, 3, 4, 5}
    assert all(e.zh and e.en for e in bad.errors)
    assert Receipt.objects.count() == 1


def test_manual_match_and_unmatch_are_logged_and_balanced(confirmed, users, tmp_path):
    receipts(tmp_path, [["R-5", "CMCC", "郑州市", "100.00",
                         timezone.localdate().isoformat(), ""]])
    r = Receipt.objects.get()
    line = Line.objects.filter(operator__code="CMCC", status="CONFIRMED").first()
    sugg = services.suggestions(r)
    assert sugg == []   # no statement yet
    with pytest.raises(services.CollectionError):
        services.manual_match(r.pk, [line.pk], users["admin"], "")
    with pytest.raises(services.CollectionError):
        services.manual_match(r.pk, [line.pk], users["cmcc"], "operator may not")
    n, total = services.manual_match(r.pk, [line.pk], users["clerk_zz"], "客户来电确认")
    assert (n, total) == (1, D("100.00"))
    assert Line.objects.get(pk=line.pk).written_off == D("100.00")
    assert check_books() == []
    app = Application.objects.get()
    assert services.unmatch([app.pk], users["clerk_zz"], "误核销") == 1
    assert services.unmatch([app.pk], users["clerk_zz"], "again") == 0   # never twice
    r.refresh_from_db()
    assert (r.applied, r.status) == (D("0.00"), "UNMATCHED")
    assert Line.objects.get(pk=line.pk).written_off == D("0.00")
    assert check_books() == []


def test_a_reversal_dated_in_the_past_counts_from_its_day(confirmed, users, tmp_path):
    """Written off as of a day (DOMAIN §6): an application stands from its receipt's date
    until the day it is reversed — the day the clerk gives, in the journal and on the row."""
    from towerledger.settlement import receivables

    today = timezone.localdate()
    Line.objects.update(push_date=today - timedelta(days=20))   # pushed before it all
    receipts(tmp_path, [["R-6", "CMCC", "郑州市", "100.00",
                         (today - timedelta(days=10)).isoformat(), ""]])
    r = Receipt.objects.get()
    line = Line.objects.filter(operator__code="CMCC", status="CONFIRMED").first()
    services.manual_match(r.pk, [line.pk], users["clerk_zz"], "对账确认")
    app = Application.objects.get()
    assert services.unmatch([app.pk], users["clerk_zz"], "误核销", today=today - timedelta(days=3))
    app.refresh_from_db()
    assert timezone.localtime(app.reversed_at).date() == today - timedelta(days=3)

    def owed(day):
        return sum((a for a, _n in receivables.outstanding(day).values()), D("0.00"))

    whole = owed(today)
    assert owed(today - timedelta(days=5)) == whole - D("100.00")   # standing then
    assert owed(today - timedelta(days=3)) == whole                  # reversed that day
    assert check_books() == []


def test_ageing_buckets_by_days_since_push_and_is_scoped(confirmed, users):
    today = timezone.localdate()
    lines = list(Line.objects.filter(status="CONFIRMED").order_by("pk"))
    Line.objects.filter(pk=lines[0].pk).update(push_date=today - timedelta(days=45))
    Line.objects.filter(pk=lines[1].pk).update(push_date=today - timedelta(days=400))
    rows = {r["key"]: r for r in services.ageing(users["admin"], "operator")}
    total = sum(r["total"] for r in rows.values())
    assert total == sum(ln.receivable for ln in lines)
    for r in rows.values():
        assert sum(r["buckets"].values()) == r["total"]
    old = {lines[0].operator.code: "31-60", lines[1].operator.code: ">365"}
    for code, bucket in old.items():
        assert rows[code]["buckets"][bucket] > 0
    mine = services.ageing(users["cmcc"], "site")
    assert mine and all(r["total"] > 0 for r in mine)
    assert sum(r["total"] for r in mine) == sum(ln.receivable for ln in lines
                                                if ln.operator.code == "CMCC")


def test_reconciliation_sorts_every_line(confirmed, users):
    mine = list(Line.objects.filter(operator__code="CMCC").exclude(status="TOWER")
                .order_by("pk"))
    assert len(mine) >= 2
    theirs = [(f"L{mine[0].pk}", mine[0].receivable),
              (str(mine[1].pk), mine[1].receivable + D("1.00")),
              ("L999999", D("5.00"))]
    c = services.reconcile(users["cmcc"], theirs)
    assert [k for k, *_ in c.matched] == [f"L{mine[0].pk}"]
    assert [k for k, *_ in c.differs] == [f"L{mine[1].pk}"]
    assert c.only_theirs == [("L999999", D("5.00"))]
    assert {k for k, _ in c.only_ours} == {f"L{ln.pk}" for ln in mine[2:]}
    t = c.totals()
    assert t["differs"][2] - t["differs"][1] == D("1.00")
    # another operator's line id is "only theirs" for CMCC: never revealed
    ctcc = Line.objects.filter(operator__code="CTCC").exclude(status="TOWER").first()
    c = services.reconcile(users["cmcc"], [(f"L{ctcc.pk}", ctcc.receivable)])
    assert c.only_theirs and not c.matched


def test_line_ids_are_read_the_way_operators_write_them():
    assert services.line_key("l12") == "L12" and services.line_key(" 7 ") == "L7"
    assert services.line_key("X-1") == "X-1"
