"""The theft program's figures (降本增效): savings by month, recoveries, cases by status and
age, the city ranking. Every figure is read in the user's scope; operators get only their
own lines (shares charged, credits received), never the tower's measurements."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from towerledger.access.scope import scoped
from towerledger.domain.savings import CaseState
from towerledger.programs.theft.models import Case, CaseRecovery, SavingsMonth
from towerledger.settlement.models import Line

ZERO = Decimal("0.00")
AGE_BANDS = ((0, 30, "0–30"), (31, 90, "31–90"), (91, 180, "91–180"), (181, 10**6, "> 180"))


def q(x) -> Decimal:
    return (x or ZERO).quantize(ZERO) if isinstance(x, Decimal) else Decimal(str(x or 0)).quantize(ZERO)


def monthly_savings(user, first: date, last: date) -> dict:
    """{month first day: yuan} of the measured theft savings in ``user``'s scope."""
    rows = scoped(user, SavingsMonth.objects.filter(month__gte=first.replace(day=1),
                                                   month__lte=last))
    out: dict = defaultdict(lambda: ZERO)
    for m, s in rows.values_list("month", "savings"):
        out[m] += s
    return dict(out)


def monthly_lines(user, kind: str, first: date, last: date) -> dict:
    """{month: receivable} of the user's lines of ``kind`` (operators: their own)."""
    rows = scoped(user, Line.objects.current().filter(kind=kind, month__gte=first.replace(day=1),
                                                     month__lte=last))
    out: dict = defaultdict(lambda: ZERO)
    for m, r in rows.values_list("month", "receivable"):
        out[m] += r
    return dict(out)


def cases_by_state(user) -> dict:
    qs = scoped(user, Case.objects.all())
    counts = dict(qs.values_list("state").annotate(n=Count("pk")))
    return {s.value: counts.get(s.value, 0) for s in CaseState}


def cases_by_age(user, today: date | None = None) -> dict:
    """Open cases (not closed) by days since detection."""
    today = today or timezone.localdate()
    out = {label: 0 for *_, label in AGE_BANDS}
    for d in scoped(user, Case.objects.exclude(state=CaseState.CLOSED)).values_list(
            "detected_on", flat=True):
        age = (today - d).days
        for lo, hi, label in AGE_BANDS:
            if lo <= age <= hi:
                out[label] += 1
    return out


def recovered(user, first: date, last: date) -> Decimal:
    return q(scoped(user, CaseRecovery.objects.filter(received_on__gte=first,
                                                      received_on__lte=last))
             .aggregate(s=Sum("amount"))["s"])


def city_ranking(user, first: date, last: date) -> list[dict]:
    """Cities by measured savings (then recovered), with their case counts."""
    rows: dict = {}
    for c in scoped(user, Case.objects.all()).values("city_id", "city__name").annotate(
            n=Count("pk")):
        rows[c["city_id"]] = {"city": c["city__name"], "cases": c["n"], "savings": ZERO,
                              "recovered": ZERO}
    for cid, s in scoped(user, SavingsMonth.objects.filter(
            month__gte=first, month__lte=last)).values_list("case__city_id").annotate(
            s=Sum("savings")):
        rows[cid]["savings"] = q(s)
    for cid, s in scoped(user, CaseRecovery.objects.filter(
            received_on__gte=first, received_on__lte=last)).values_list(
            "case__city_id").annotate(s=Sum("amount")):
        rows[cid]["recovered"] = q(s)
    return sorted(rows.values(), key=lambda r: (-r["savings"], -r["recovered"], r["city"]))


def month_figures(month: date, city_id: int, as_of: date) -> dict:
    """One city's figures of ``month`` for the close's snapshot."""
    from towerledger.domain.months import month_end

    last = month_end(month)
    cases = Case.objects.filter(city_id=city_id)
    states = dict(cases.values_list("state").annotate(n=Count("pk")))
    sm = SavingsMonth.objects.filter(case__city_id=city_id, month=month)
    lines = Line.objects.current().filter(city_id=city_id, month=month)
    return {
        "cases": {s.value: states.get(s.value, 0) for s in CaseState},
        "overdue": cases.exclude(state=CaseState.CLOSED).filter(due__lt=last).count(),
        "savings": str(q(sm.aggregate(s=Sum("savings"))["s"])),
        "tower_share": str(q(sm.aggregate(s=Sum("tower_amount"))["s"])),
        "share_lines": str(q(lines.filter(kind="SAVINGS_SHARE").aggregate(
            s=Sum("receivable"))["s"])),
        "recovered": str(q(CaseRecovery.objects.filter(
            case__city_id=city_id, received_on__gte=month, received_on__lte=last)
            .aggregate(s=Sum("amount"))["s"])),
        "as_of": as_of.isoformat(),
    }
