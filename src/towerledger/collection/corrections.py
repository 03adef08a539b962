"""Corrections that may touch receipts: void and re-allocate a bill whose lines are written off.

The receivables core (``settlement.corrections``) refuses to supersede a line receipts have
written off; this layer, which owns receipts, first reverses those applications the way an
unmatch (反核销) does — the money goes back to the operator's unapplied cash (预收), where
it pays the operator's next lines — then calls the core, all in one transaction. Pages, the
CLI and the API call these.
"""

from datetime import date

from django.db import transaction

from towerledger.collection.services import unmatch
from towerledger.settlement import corrections as core
from towerledger.settlement.models import Application


def _release(line_ids, user, reason: str, today: date | None) -> int:
    """Reverse the live applications of ``line_ids``; returns how many."""
    apps = list(Application.objects.filter(line_id__in=list(line_ids), reversed_at__isnull=True)
                .values_list("pk", flat=True))
    if not apps:
        return 0
    return unmatch(apps, user, f"调账退回预收 correction: {reason}", today=today)


def _correct(correction, bill_id, user, reason: str, today: date | None,
             preview: bool) -> core.Plan:
    """Run a core correction of a bill; the chains it supersedes give their write-offs back
    to unapplied cash first, in the same transaction."""
    if preview:
        return correction(bill_id, user, reason, today, preview=True)
    with transaction.atomic():
        plan = correction(bill_id, user, reason, today, preview=True)
        if plan.already:
            return plan
        _release([c.supersedes for c in plan.changes if c.supersedes], user, reason, today)
        return correction(bill_id, user, reason, today)


def void_bill(bill_id, user, reason: str, today: date | None = None,
              preview: bool = False) -> core.Plan:
    """冲销 a bill; written-off lines give their write-offs back to unapplied cash first."""
    return _correct(core.void_bill, bill_id, user, reason, today, preview)


def reallocate_bill(bill_id, user, reason: str, today: date | None = None,
                    preview: bool = False) -> core.Plan:
    """重新分摊 a bill; the chains it changes give their write-offs back first."""
    return _correct(core.reallocate_bill, bill_id, user, reason, today, preview)
