"""暂估 Accruals: estimated at month close, posted Dr ACCRUAL_COST / Cr ACCRUED per site dated
the month's last day, reversed on the next month's first day or — by the province's
``AccrualSetting`` — when the bills covering the month arrive (``reverse_covered``).

Idempotent: one ``Accrual`` per (month, account) (an account already estimated for the month
is never estimated again), entries keyed (ACCRUAL | ACCRUAL_REVERSAL, "YYYY-MM:account_no"),
so a resumed close or a second run of ``reverse_covered`` posts nothing twice.
"""

from collections import defaultdict
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from towerledger.access.audit import record
from towerledger.bills.models import Bill
from towerledger.db.bulk import copy_insert
from towerledger.domain.accruals import BillPeriod, estimate, months_back, split, uncovered_days
from towerledger.domain.journal import Posting
from towerledger.domain.months import month_end, next_month
from towerledger.ledger.services import post_entries
from towerledger.org.models import Province
from towerledger.programs.accruals.models import (
    Accrual,
    AccrualPart,
    AccrualSetting,
    ReverseOn,
)
from towerledger.sites.models import AccountSite, SupplyAccount, Tenancy

ACCRUAL, REVERSAL = "ACCRUAL", "ACCRUAL_REVERSAL"


def reverse_on_for(province_id: int | None) -> str:
    row = AccrualSetting.objects.filter(province_id=province_id).first()
    return row.reverse_on if row else ReverseOn.NEXT_MONTH


def set_reverse_on(province: Province, reverse_on: str, user, reason: str) -> AccrualSetting:
    """The province's reversal rule (applies to accruals estimated from now on)."""
    from towerledger.domain.errors import DomainError

    if reverse_on not in ReverseOn.values:
        raise DomainError(f"无效的冲回方式 {reverse_on}", f"invalid reversal rule {reverse_on}")
    if not reason.strip():
        raise DomainError("请填写原因", "a reason is required")
    with transaction.atomic():
        row, _ = AccrualSetting.objects.get_or_create(province=province)
        before = row.reverse_on
        row.reverse_on, row.updated_by = reverse_on, user if getattr(user, "pk", None) else None
        row.save()
        record(user, "accruals.setting", "accrual_setting", province.name, {"reverse_on": before},
               {"reverse_on": reverse_on}, reason)
    return row


# ---- which accounts, and their facts ---------------------------------------------------

def _one_bill_covers(first: date, last: date):
    """The accounts one (not void) bill of which covers the whole month by itself: covered
    whatever the month's ``until``, so never estimated — left out set-wise, before any row
    of theirs reaches Python (most accounts at a close)."""
    return Bill.objects.exclude(status=Bill.Status.VOID).filter(
        period_start__lte=first, period_end__gte=last).values("account_id")


def _active_splits(first: date, last: date, skip=None):
    """{account_id: [(site_id, site_code, ratio, active_until, province_id)]} of the accounts
    feeding at least one site active in the month: a tenancy active in it, or not
    decommissioned before it; ``skip``: a subquery of accounts to leave out."""
    tenanted = Tenancy.objects.filter(Q(end_date__isnull=True) | Q(end_date__gte=first),
                                      start_date__lte=last).values("site_id")
    standing = (Q(site__decommission_date__isnull=True) & ~Q(site__status="DECOMMISSIONED")) \
        | Q(site__decommission_date__gte=first)
    splits = AccountSite.objects.all()
    if skip is not None:
        splits = splits.exclude(account_id__in=skip)
    active_sites = set(splits.filter(standing | Q(site_id__in=tenanted))
                       .values_list("site_id", flat=True))
    rows = splits.values_list(
        "account_id", "site_id", "site__site_code", "split_ratio", "site__decommission_date",
        "site__county__city__province_id").order_by("account_id", "site__site_code")
    out = defaultdict(list)
    for account, site, code, ratio, gone, province in rows:
        out[account].append((site, code, ratio, site in active_sites, gone, province))
    result = {}
    for account, splits in out.items():
        if not any(s[3] for s in splits):
            continue
        # the month stops at the last site's decommissioning when every fed site goes in it
        ends = [s[4] for s in splits]
        until = last if any(e is None or e >= last for e in ends) else max(ends)
        if until < first:
            until = last
        result[account] = (splits, until)
    return result


def _bills(account_ids, lo: date, hi: date, skip=None) -> dict[int, list[BillPeriod]]:
    out = defaultdict(list)
    rows = Bill.objects.exclude(status=Bill.Status.VOID).filter(
        period_end__gte=lo, period_start__lte=hi)
    if skip is not None:
        rows = rows.exclude(account_id__in=skip)
    rows = rows.values_list(
        "account_id", "period_start", "period_end", "kwh", "unit_price", "amount")
    wanted = set(account_ids)
    for account, start, end, kwh, price, amount in rows.iterator(chunk_size=5000):
        if account in wanted:
            out[account].append(BillPeriod(start, end, kwh, price, amount))
    return out


# ---- the close --------------------------------------------------------------------------

def accrue_month(month: date, user=None) -> dict:
    """Estimate and post the month's accruals for every active account not yet estimated."""
    first = month.replace(day=1)
    last = month_end(first)
    covered = _one_bill_covers(first, last)
    active = _active_splits(first, last, skip=covered)
    done = set(Accrual.objects.filter(month=first).values_list("account_id", flat=True))
    todo = {a: v for a, v in active.items() if a not in done}
    bills = _bills(todo, months_back(first, 3) - timedelta(days=1), last, skip=covered)
    settings = {}
    made, posted, total = 0, 0, 0
    with transaction.atomic():
        # plain rows, written by COPY (no model instances): ids come back in row order
        accruals, parts = [], {}
        for account, (splits, until) in sorted(todo.items()):
            est = estimate(bills.get(account, []), first, until=until)
            if est.covered:
                continue
            province = splits[0][5]
            if province not in settings:
                settings[province] = reverse_on_for(province)
            accruals.append({
                "month": first, "account_id": account, "days_uncovered": est.days_uncovered,
                "first_uncovered": est.first_uncovered, "basis_from": est.basis_from,
                "basis_to": est.basis_to, "basis_days": est.basis_days,
                "use_per_day": est.use_per_day, "by_money": est.by_money,
                "unit_price": est.unit_price, "amount": est.amount,
                "reverse_on": settings[province], "until": until,
                "posted_on": last if est.amount > 0 else None})
            shares = split(est.amount, [(code, ratio) for _, code, ratio, *_ in splits])
            parts[account] = [(site, ratio, shares[code]) for site, code, ratio, *_ in splits]
        ids = copy_insert(Accrual, accruals)
        copy_insert(AccrualPart, [
            {"accrual_id": pk, "site_id": site, "split_ratio": ratio, "amount": amount}
            for pk, a in zip(ids, accruals, strict=True)
            for site, ratio, amount in parts[a["account_id"]]])
        made = len(accruals)
        site_codes = {}
        entries = []
        posting = [a for a in accruals if a["posted_on"]]
        numbers = dict(SupplyAccount.objects.filter(
            pk__in=[a["account_id"] for a in posting]).values_list("pk", "account_no")) \
            if posting else {}
        # in the order the entries were always posted: by account number
        for a in sorted(posting, key=lambda a: (numbers[a["account_id"]], a["account_id"])):
            account = a["account_id"]
            total += a["amount"]
            site_parts = [(site, code, amount) for (site, code, *_), (_, _, amount)
                          in zip(active[account][0], parts[account], strict=True)]
            for site, code, _ in site_parts:
                site_codes[code] = site
            reference = f"{first:%Y-%m}:{numbers[account]}"
            entries.append(_entry(first, reference, site_parts, reverse=False))
            if a["reverse_on"] == ReverseOn.NEXT_MONTH:
                entries.append(_entry(first, reference, site_parts, reverse=True))
        posted = post_entries(entries, user, site_ids=site_codes)
        next_first = next_month(first)
        Accrual.objects.filter(month=first, reverse_on=ReverseOn.NEXT_MONTH,
                               posted_on__isnull=False, reversed_on__isnull=True) \
            .update(reversed_on=next_first)
        if made:
            record(user, "accruals.accrue", "accrual", f"{first:%Y-%m}", None,
                   {"accruals": made, "amount": str(total)}, "月结暂估 month-close accruals")
    return {"accruals": made, "entries": posted, "amount": str(total)}


def _entry(month: date, reference: str, site_parts, reverse: bool):
    """Dr ACCRUAL_COST / Cr ACCRUED per site (the reversal: the other way round)."""
    postings = []
    for _, code, amount in site_parts:
        if not amount:
            continue
        if reverse:
            postings += [Posting("ACCRUED", debit=amount, site=code),
                         Posting("ACCRUAL_COST", credit=amount, site=code)]
        else:
            postings += [Posting("ACCRUAL_COST", debit=amount, site=code),
                         Posting("ACCRUED", credit=amount, site=code)]
    if reverse:
        return (next_month(month), REVERSAL, reference,
                f"冲回暂估 reverse accrual {reference}", postings)
    return (month_end(month), ACCRUAL, reference, f"暂估 accrual {reference}", postings)


def _site_parts(accruals):
    rows = AccrualPart.objects.filter(accrual__in=accruals).values_list(
        "accrual_id", "site_id", "site__site_code", "amount").order_by("accrual_id", "site__site_code")
    out = defaultdict(list)
    for accrual, site, code, amount in rows:
        out[accrual].append((site, code, amount))
    return out


def reverse_covered(today: date | None = None, user=None) -> int:
    """Reverse the BILL_ARRIVES accruals whose month the account's bills now cover in full,
    dated ``today`` (never before the next month's first day). Returns accruals reversed."""
    today = today or timezone.localdate()
    waiting = list(Accrual.objects.filter(reverse_on=ReverseOn.BILL_ARRIVES,
                                          posted_on__isnull=False, reversed_on__isnull=True)
                   .select_related("account"))
    if not waiting:
        return 0
    lo = min(a.month for a in waiting)
    hi = month_end(max(a.month for a in waiting))
    bills = _bills({a.account_id for a in waiting}, lo, hi)
    covered = [a for a in waiting
               if not uncovered_days(bills.get(a.account_id, []), a.month, a.until)]
    if not covered:
        return 0
    parts = _site_parts(covered)
    with transaction.atomic():
        entries, site_ids = [], {}
        for a in covered:
            for site, code, _ in parts[a.pk]:
                site_ids[code] = site
            day = max(today, next_month(a.month))
            entry = _entry(a.month, a.reference, parts[a.pk], reverse=True)
            entries.append((day, *entry[1:]))
            Accrual.objects.filter(pk=a.pk).update(reversed_on=day)
        post_entries(entries, user, site_ids=site_ids)
    return len(covered)


def on_month_closing(sender=None, month=None, user=None, as_of=None, **kw) -> dict:
    """The close's "programs" step: the month's accruals, and reversals now due."""
    result = accrue_month(month, user)
    result["reversed"] = reverse_covered(as_of, user)
    return result


def on_daily(sender=None, today=None, **kw) -> dict:
    """The daily job: reversals of accruals whose bills have arrived."""
    return {"reversed": reverse_covered(today)}
