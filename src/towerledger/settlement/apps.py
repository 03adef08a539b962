import logging

from django.apps import AppConfig
from django.conf import settings
from django.db import transaction

log = logging.getLogger("towerledger.settlement")


def allocate_paid(sender, bill_ids, user=None, **kwargs):
    """T+0: allocate and push the bills just paid, in the payment's transaction.

    A bill that cannot be allocated (its master data is incomplete, say) must not undo its
    payment: the allocation runs in a savepoint, and what fails is left for
    `towerledger allocate`, which `towerledger check` reminds about."""
    if not getattr(settings, "TOWERLEDGER_ALLOCATE_ON_PAY", True):
        return
    from towerledger.settlement.allocate import allocate_bills

    try:
        with transaction.atomic():
            allocate_bills(bill_ids, user)
    except Exception:  # noqa: BLE001 — the payment stands; the failure is logged and checked
        log.exception("T+0 allocation failed for %d bills", len(bill_ids))


class SettlementConfig(AppConfig):
    name = "towerledger.settlement"
    verbose_name = "分摊与确认 Allocation and confirmation"

    def ready(self):
        from towerledger.bills.payments import bills_paid
        from towerledger.settlement import kinds  # noqa: F401  (registers the export kinds)

        bills_paid.connect(allocate_paid, dispatch_uid="settlement.allocate_paid")
        from towerledger.bills.findings import findings_cleared
        from towerledger.settlement.held import release_held

        # a blocking allocation finding resolved: push the lines it held (issue 12)
        findings_cleared.connect(release_held, dispatch_uid="settlement.release_held")
