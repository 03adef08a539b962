"""Allocation findings (分摊提示) stored on the bill as audit flags (DOMAIN.md §3, issue 12).

The allocation (settlement, above this layer) finds FALLBACK, NEGATIVE_COMMON, NO_RULE,
ZERO_WEIGHT, NO_SITE and the like while it splits a bill; it hands them here, per bill, and
they become ``Flag`` rows beside the audit rules' findings: one per bill and code, with each
site's figures, the severity the bill's province sets for the code (default WARN). Recording
again (a re-run, a re-allocation) refreshes the open flag, never adds a second one, and drops
an open one whose finding has gone; resolved and whitelisted flags stay as they are.

Under a province's BLOCK policy the allocation holds the bill's lines; when the last open
blocking allocation finding of a bill is resolved or whitelisted, ``findings_cleared`` tells
settlement to push them (bills stands below settlement and cannot call it).
"""

from collections import defaultdict

from django.db.models import Q
from django.dispatch import Signal

from towerledger.bills import audit
from towerledger.bills.models import Bill, Flag, Whitelist
from towerledger.db.bulk import OneOf
from towerledger.domain.audits import ALLOCATION_RULES, BLOCK, RULE_LABELS

# sent with bill_ids (bills whose held lines may now be pushed) and user
findings_cleared = Signal()


def _messages(code: str, sites: list[dict]) -> tuple[str, str]:
    zh, en = RULE_LABELS.get(code, (code, code))
    where = "; ".join(f"{s['site'] or '—'}: {s['message']}" for s in sites)
    return f"{zh}（{where}）"[:300], f"{en} ({where})"[:300]


def record_allocation_findings(findings: dict[int, list[tuple[str, str, str]]],
                               province_of: dict[int, object]) -> set[int]:
    """Store the allocation's findings of the bills allocated: bill pk → its findings as
    (site code, code, message), an empty list for a bill allocated without any (so an open
    finding that has gone is dropped); ``province_of`` bill pk → province pk (for the
    policy). Returns the bills that now have an open BLOCK allocation finding (to hold)."""
    if not any(findings.values()) and not _open_allocation_flags(findings):
        return set()   # the usual batch: nothing found now, nothing found before
    ids = list(findings)
    account_of = dict(Bill.objects.filter(OneOf("pk", ids)).values_list("pk", "account_id"))
    white = defaultdict(set)
    for account, code in Whitelist.objects.filter(
            OneOf("account_id", set(account_of.values()))).values_list("account_id", "code"):
        white[account].add(code)
    existing = {(f.bill_id, f.code): f for f in Flag.objects.filter(
        OneOf("bill_id", ids), code__in=list(ALLOCATION_RULES))}
    rules, held, keep, create, update = {}, set(), set(), [], []
    for pk, items in findings.items():
        province = province_of.get(pk)
        if province not in rules:
            rules[province] = audit.configured_rules(province)
        by_code = defaultdict(list)
        for site, code, message in items:
            by_code[code].append({"site": site, "message": message})
        for code, sites in sorted(by_code.items()):
            rule = rules[province].get(code)
            if rule is not None and (not rule.enabled or code in white[account_of.get(pk)]):
                continue
            severity = rule.severity if rule is not None else "WARN"
            keep.add((pk, code))
            zh, en = _messages(code, sites)
            figures = {"sites": sites, "source": "allocation"}
            old = existing.get((pk, code))
            if old is None:
                create.append(Flag(bill_id=pk, code=code, severity=severity, message_zh=zh,
                                   message_en=en, figures=figures))
            elif old.status == Flag.Status.OPEN:
                old.severity, old.figures, old.message_zh, old.message_en = (
                    severity, figures, zh, en)
                update.append(old)
            else:
                continue   # resolved or whitelisted: the decision stands
            if severity == BLOCK:
                held.add(pk)
    gone = [f for key, f in existing.items() if key not in keep and f.status == Flag.Status.OPEN]
    Flag.objects.filter(pk__in=[f.pk for f in gone]).delete()
    Flag.objects.bulk_create(create, batch_size=1000)
    Flag.objects.bulk_update(update, ["severity", "figures", "message_zh", "message_en"],
                             batch_size=1000)
    audit.refresh_counters({pk for pk, _ in keep} | {f.bill_id for f in gone})
    return held


def _open_allocation_flags(findings) -> bool:
    return Flag.objects.filter(OneOf("bill_id", list(findings)), status=Flag.Status.OPEN,
                               code__in=list(ALLOCATION_RULES)).exists()


def blocking_allocation_findings(bill_ids) -> set[int]:
    """The bills among ``bill_ids`` with an open BLOCK allocation finding."""
    return set(Flag.objects.filter(OneOf("bill_id", list(bill_ids)), status=Flag.Status.OPEN,
                                   severity=BLOCK, code__in=list(ALLOCATION_RULES))
               .values_list("bill_id", flat=True))


def allocation_flags() -> Q:
    """The condition for a flag the allocation raised (not an audit rule's)."""
    return Q(code__in=list(ALLOCATION_RULES))


def release_if_cleared(bill_ids, user) -> None:
    """Tell settlement which of these bills no longer have a blocking allocation finding."""
    clear = set(bill_ids) - blocking_allocation_findings(bill_ids)
    if clear:
        findings_cleared.send(sender=Flag, bill_ids=sorted(clear), user=user)
