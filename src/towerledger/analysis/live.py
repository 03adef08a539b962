"""The open months, live (暂定): KPI snapshots of the months after the last close, as of
today, so the dashboard shows the month in progress — marked provisional — instead of
silently showing the last closed one. Refreshed by the daily deadlines job and on demand."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from towerledger.analysis.kpi import compute
from towerledger.analysis.models import ProvisionalMonth, Snapshot
from towerledger.db.bulk import chunked
from towerledger.domain.months import next_month
from towerledger.ledger.models import MonthClose

MAX_OPEN = 3     # a province that has not closed for longer reads its months as closed


def open_months(today: date) -> list[date]:
    """The months after the last closed one, up to today's (at most ``MAX_OPEN``)."""
    last = MonthClose.objects.filter(status=MonthClose.Status.CLOSED).order_by("-month") \
        .values_list("month", flat=True).first()
    current = today.replace(day=1)
    first = next_month(last) if last else current
    months = []
    m = first
    while m <= current:
        months.append(m)
        m = next_month(m)
    return months[-MAX_OPEN:]


def refresh(today: date | None = None, months: list[date] | None = None) -> list[date]:
    """Compute the open months' snapshots as of ``today`` and store them provisionally.
    A month closed meanwhile is left alone. Returns the months refreshed."""
    today = today or timezone.localdate()
    done = []
    for month in months or open_months(today):
        rows = compute(month, today)
        with transaction.atomic():
            if MonthClose.objects.filter(month=month, status=MonthClose.Status.CLOSED) \
                    .select_for_update().exists():
                continue
            Snapshot.objects.filter(month=month).delete()
            for part in chunked(rows, 5000):
                Snapshot.objects.bulk_create([Snapshot(month=month, **r) for r in part])
            ProvisionalMonth.objects.update_or_create(month=month,
                                                      defaults={"as_of": today})
        done.append(month)
    return done


def provisional() -> dict[date, date]:
    """Open months with live snapshots: month -> the day they are as of."""
    return dict(ProvisionalMonth.objects.values_list("month", "as_of"))
