"""Matching's set-wise writer (``collection.services._write_pg``, PostgreSQL) against the
Python one (``_write``) on a generated province: the same receipts matched by the same
rules give the same applications, receipts' totals, audit entries and vouchers."""

import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from tests.helpers import write_csv
from towerledger.access.models import AuditEntry
from towerledger.analysis.books import check_books
from towerledger.collection import services
from towerledger.collection.models import MatchSetting, Receipt, Statement
from towerledger.exchange.services import run_import
from towerledger.ledger.models import JournalEntry
from towerledger.org.models import Province
from towerledger.settlement.allocate import allocate_bills
from towerledger.settlement.models import Application, Line
from towerledger.settlement.services import run_deadlines
from towerledger.synth.files import generate

HEADER = ["receipt_no", "operator", "city", "amount", "received_date", "reference"]


def _receipts(path, seed=7):
    """As bench/receipts.py: a receipt per statement naming it (some partial, some over),
    one of exactly a statement's outstanding without a reference, unreferenced amounts
    per operator and city for oldest-first, and one that matches nothing."""
    rng = random.Random(seed)
    today = timezone.localdate().isoformat()
    rows = []
    statements = list(Statement.objects.select_related("operator", "city").order_by("pk"))
    for st in statements[1:]:
        share = Decimal(rng.choice(["1", "0.8", "0.5", "2.4"]))
        amount = (st.receivable * share * Decimal("0.5")).quantize(Decimal("0.01"))
        if amount > 0:
            rows.append([f"R{len(rows):05d}", st.operator.code, st.city.name if st.city else "",
                         amount, today, f"电费 {st.number}"])
    first = statements[0]
    rows.append([f"R{len(rows):05d}", first.operator.code, first.city.name, first.receivable,
                 today, "no reference"])
    open_by = defaultdict(Decimal)
    for op, city, left in Line.objects.filter(status="CONFIRMED", statement__isnull=False) \
            .values_list("operator__code", "city__name").annotate(
                left=Sum(F("receivable") - F("written_off"))):
        open_by[op, city] = left * Decimal("0.4")
    for (op, city), budget in sorted(open_by.items()):
        for _ in range(3):
            amount = (budget / 3 * Decimal(rng.uniform(0.5, 1.5))).quantize(Decimal("0.01"))
            if amount > 0:
                rows.append([f"R{len(rows):05d}", op, city, amount, today, ""])
    rows.append([f"R{len(rows):05d}", "CMCC", "", "0.01", today, "DZ-NOTHING-99"])
    return write_csv(path, HEADER, rows)


def _outcome():
    """Everything a matching run wrote, with the run's ids made relative to its first
    application (a rolled-back run still used its sequence numbers)."""
    apps = list(Application.objects.order_by("pk").values_list(
        "pk", "receipt_id", "line_id", "statement_id", "amount", "rule", "reason",
        "created_by_id", "reversal_reason", "reversed_at"))
    first = apps[0][0]
    run = f"A{first}-{apps[-1][0]}"
    receipts = list(Receipt.objects.order_by("pk").values_list("pk", "applied", "status"))
    audit = [(key, before, {k: ("RUN" if v == run else v) for k, v in after.items()}, reason)
             for key, before, after, reason in AuditEntry.objects.filter(
                 action="write_off").order_by("pk").values_list(
                 "object_key", "before", "after", "reason")]
    vouchers = [(e.date, e.reference.replace(run, "RUN"), e.memo, sorted(
        (ln.account, ln.operator_id, ln.debit, ln.credit) for ln in e.lines.all()))
        for e in JournalEntry.objects.filter(kind="WRITE_OFF").order_by("pk")]
    return ([(pk - first, *rest) for pk, *rest in apps], receipts, audit, vouchers)


@pytest.mark.django_db(transaction=False)
def test_set_wise_matching_writes_what_the_python_writer_writes(tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the set-wise writer is PostgreSQL's; SQLite keeps the Python one")
    from towerledger.synth.commands import import_files

    settings.TOWERLEDGER_MATCH_ON_IMPORT = False
    today = timezone.localdate()
    import_files(generate(tmp_path / "files", 60, 1, seed=5, today=today))
    allocate_bills()
    run_deadlines(today + timedelta(days=60))
    services.issue_statements(today.replace(day=1))
    MatchSetting.objects.create(province=Province.objects.get(), oldest_first=True)
    assert run_import("receipts", _receipts(tmp_path / "receipts.csv")).stored
    outcomes = []

    def work_mem():
        with connection.cursor() as cur:
            cur.execute("SHOW work_mem")
            return cur.fetchone()[0]

    before = work_mem()
    for set_wise in (False, True):
        with transaction.atomic():
            services.SET_WISE = set_wise
            try:
                result = services.auto_match()
            finally:
                services.SET_WISE = True
            assert work_mem() == before   # the writer's larger work_mem was its own
            outcomes.append((_outcome(), result.applications, result.applied,
                             dict(result.by_rule), result.unmatched))
            assert check_books() == []
            transaction.set_rollback(True)
    python, set_wise = outcomes
    (apps, receipts, audit, vouchers), *_ = python
    rules = {a[5] for a in apps}
    assert rules == {"REFERENCE", "AMOUNT", "OLDEST"}, rules        # every rule was used
    assert {r[2] for r in receipts} >= {"APPLIED", "PARTIAL", "UNMATCHED"}
    assert len(audit) == len({a[1] for a in apps}) and len(vouchers) >= 2
    assert set_wise == python


def test_receipts_posted_set_wise_as_post_entries_posts_them(province, tmp_path):
    """services.post_new_receipts: Dr CASH / Cr UNAPPLIED per receipt for its operator, a
    zero amount posts nothing, a receipt dated in a closed month is posted on the first
    open day, and a receipt already posted is not posted again."""
    from datetime import date

    from towerledger.ledger.models import JournalLine, MonthClose

    today = timezone.localdate()
    closed = date(today.year - 1, 1, 1)
    MonthClose.objects.create(month=closed, status=MonthClose.Status.CLOSED)
    rows = [["P-1", "CMCC", "郑州市", "100.50", today.isoformat(), ""],
            ["P-3", "CUCC", "郑州市", "7.00", closed.replace(day=15).isoformat(), ""]]
    assert run_import("receipts", write_csv(tmp_path / "p.csv", HEADER, rows)).stored
    from towerledger.org.models import Operator

    zero = Receipt.objects.create(receipt_no="P-2", operator=Operator.objects.get(code="CTCC"),
                                  amount=Decimal("0.00"), received_date=today)
    assert services.post_new_receipts([zero.pk]) == 0            # nothing for a zero amount
    entries = {e.reference: e for e in JournalEntry.objects.filter(kind="RECEIPT")}
    assert set(entries) == {"P-1", "P-3"}
    assert entries["P-1"].date == today and entries["P-1"].memo == "回款 P-1"
    assert entries["P-3"].date == date(closed.year, 2, 1)       # the first open day
    for no, code, amount in (("P-1", "CMCC", Decimal("100.50")), ("P-3", "CUCC", Decimal("7.00"))):
        lines = {(ln.account, ln.operator.code if ln.operator else None, ln.debit, ln.credit)
                 for ln in JournalLine.objects.filter(entry=entries[no])}
        assert lines == {("CASH", None, amount, Decimal("0")),
                         ("UNAPPLIED", code, Decimal("0"), amount)}
    r = Receipt.objects.get(receipt_no="P-1")
    assert services.post_new_receipts([r.pk]) == 0               # posted once only
    assert JournalEntry.objects.filter(kind="RECEIPT").count() == 2
    assert check_books() == []
