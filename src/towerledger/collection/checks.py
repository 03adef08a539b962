"""Collection's part of `towerledger check` (``analysis.books.check_books``): receipts
applied plus unapplied equal receipts received, receipt by receipt and in the journal."""

from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce

from towerledger.collection.models import Receipt
from towerledger.settlement.checks import _balance, applied_in_journal, q


def collection_checks(limit: int = 20) -> list[str]:
    """Every problem with receipts, in words (Chinese / English)."""
    problems = []
    received = q(Receipt.objects.aggregate(s=Sum("amount"))["s"])
    applied = q(Receipt.objects.aggregate(s=Sum("applied"))["s"])
    journal = applied_in_journal()
    if applied != journal:
        problems.append(f"核销金额不一致 receipts applied {applied} ≠ journal {journal}")
    drift = Receipt.objects.annotate(live=Coalesce(
        Sum("applications__amount", filter=Q(applications__reversed_at__isnull=True)),
        Value(0), output_field=Receipt._meta.get_field("applied"))).exclude(applied=F("live"))
    for no, app, live_r in drift.values_list("receipt_no", "applied", "live")[:limit]:
        if q(app) != q(live_r):   # SQLite compares float sums; judge to the fen
            problems.append(f"回款已核销额与核销明细不符 receipt {no}: applied {q(app)} ≠ "
                            f"write-offs {q(live_r)}")
    unapplied = -_balance("UNAPPLIED")
    if applied + unapplied != received:
        problems.append(f"回款 ≠ 已核销 + 未核销 receipts {received} ≠ applied {applied} + "
                        f"unapplied {unapplied}")
    return problems
