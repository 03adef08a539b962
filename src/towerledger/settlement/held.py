"""Allocation findings on the allocation's side (issue 12): store them on the bill, hold the
lines of a bill whose province BLOCKs a finding, and push them once it is resolved.

* ``record_findings`` runs inside the allocation of a batch: it hands each bill's findings to
  ``bills.findings`` (the Flag rows) and, for the bills the policy blocks, turns their lines
  HELD (the ALLOCATED state, stored) and leaves their journal entry unposted: a held bill's
  advance stays on ADVANCE, nothing is owed by an operator yet.
* ``release_held`` (on ``bills.findings.findings_cleared``) pushes the held lines of bills
  that no longer have a blocking allocation finding — T+push date today, confirm-by from the
  operator's agreement — and posts the allocation entry the payment path would have posted.
"""

from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from towerledger.access import audit as log
from towerledger.bills.findings import blocking_allocation_findings, record_allocation_findings
from towerledger.bills.models import Bill
from towerledger.domain.codes import SettlementMode
from towerledger.ledger.services import post_entries
from towerledger.org.models import Operator
from towerledger.settlement.models import Line
from towerledger.sites.models import Site


def record_findings(bills: list[dict], found: dict, facts, lines: list[dict],
                    entries: list) -> tuple[list[dict], list]:
    """Store the batch's findings (bill pk → [(site, code, message)]) and hold the lines of
    bills their province blocks; returns the lines and the entries to post."""
    for b in bills:
        found.setdefault(b["pk"], [])
        for s in facts.splits.get(b["account_id"], ()):
            rules = facts.rules.get(s["site_id"], ())
            if not any(r.effective_from <= b["period_end"] for r in rules):
                found[b["pk"]].append((s["site__site_code"], "NO_RULE",
                                       "no allocation rule in force: EQUAL, no tower share"))
    held = record_allocation_findings(
        found, {b["pk"]: facts.province_of(b["account_id"]) for b in bills})
    if not held:
        return lines, entries
    for ln in lines:
        if ln["bill_id"] in held:
            ln.update(status=Line.Status.HELD, pushed_at=None, push_date=None, confirm_due=None)
    refs = {f"B{pk}" for pk in held}   # _entry's reference: the held bills' entries wait
    return lines, [e for e in entries if e[2] not in refs]


def release_held(sender=None, bill_ids=(), user=None, today=None, **kwargs) -> int:
    """Push (or bear) the held lines of these bills when nothing blocks them any more, and
    post their allocation entries; returns the lines released."""
    from towerledger.settlement.allocate import Agreements, _entry

    today = today or timezone.localdate()
    with transaction.atomic():
        ids = set(bill_ids) - blocking_allocation_findings(bill_ids)
        lines = list(Line.objects.held().filter(bill_id__in=ids, kind=Line.Kind.ALLOCATION)
                     .select_for_update().select_related("city"))
        if not lines:
            return 0
        terms, now = Agreements(), timezone.now()
        for ln in lines:
            push = ln.tenancy_id is not None and ln.mode != SettlementMode.LUMP_SUM
            ln.status = Line.Status.PUSHED if push else Line.Status.TOWER
            if push:
                ln.pushed_at, ln.push_date = now, today
                ln.confirm_due = today + timedelta(days=terms(
                    ln.operator_id, ln.city.province_id, today).confirm_within_days)
        Line.objects.bulk_update(lines, ["status", "pushed_at", "push_date", "confirm_due"])
        codes = _Codes(lines)
        bills = {b["pk"]: b for b in Bill.objects.filter(pk__in={ln.bill_id for ln in lines})
                 .values("pk", "bill_no")}
        by_bill = defaultdict(list)
        for ln in lines:
            by_bill[ln.bill_id].append(_as_dict(ln))
        entries = []
        for pk, b in sorted(bills.items()):
            entry = _entry(b, by_bill[pk], today, codes)
            if entry:
                entries.append(entry)
        post_entries(entries, user, site_ids=codes.site_ids, operator_ids=codes.operator_ids)
        log.record_many(user, "push_held", "bill",
                        [(pk, {"lines": "HELD"}, {"lines": "PUSHED"}) for pk in sorted(bills)],
                        reason="分摊提示已处理，推送暂缓明细 pushed the lines held by an "
                               "allocation finding once it was resolved")
    return len(lines)


def _as_dict(ln: Line) -> dict:
    return {"site_id": ln.site_id, "operator_id": ln.operator_id, "status": ln.status,
            "cost_share": ln.cost_share, "receivable": ln.receivable,
            "tax_amount": ln.tax_amount}


class _Codes:
    """The site and operator codes ``_entry`` and ``post_entries`` need, for these lines."""

    def __init__(self, lines):
        self.code_of_site = dict(Site.objects.filter(pk__in={ln.site_id for ln in lines})
                                 .values_list("pk", "site_code"))
        self.site_ids = {v: k for k, v in self.code_of_site.items()}
        self.operator_ids = dict(Operator.objects.values_list("code", "pk"))
        self.code_of_operator = {v: k for k, v in self.operator_ids.items()}
