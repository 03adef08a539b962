"""Which month a clerk most likely means to state (对账单出具月份), and what issuing it
would gather — shared by the statements page's issue form and the home page's to-do.

A month's statements gather the confirmed lines not yet on a statement that were confirmed
by the month's end (``collection.services.statement_lines``), so the month to issue is the
last *ended* month in which such a line was confirmed: the current month has not ended
(issuing it early needs an explicit confirmation), and an older month with nothing left
unstated would issue nothing."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Sum
from django.utils import timezone

from towerledger.access.scope import scoped
from towerledger.collection import services
from towerledger.settlement.models import Line

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class IssuePreview:
    """What issuing ``month``'s statements would gather for a user (their scope)."""

    month: date
    lines: int
    receivable: Decimal
    statements: int            # one per operator and city

    @property
    def empty(self) -> bool:
        return self.lines == 0


def last_ended_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def has_ended(month: date, today: date) -> bool:
    return month < today.replace(day=1)


def default_issue_month(user, today: date | None = None) -> date:
    """The last ended month with confirmed lines waiting for a statement in the user's
    scope; the last ended month when nothing is waiting."""
    today = today or timezone.localdate()
    start = timezone.make_aware(datetime.combine(today.replace(day=1), time.min))
    latest = scoped(user, Line.objects.unstated().filter(
        operator__isnull=False, confirmed_at__lt=start)).aggregate(at=Max("confirmed_at"))["at"]
    if latest is None:
        return last_ended_month(today)
    return timezone.localtime(latest).date().replace(day=1)


def issue_preview(user, month: date) -> IssuePreview:
    """The lines ``issue_statements(month)`` would put on statements for this user, by
    city (the clerk's form; a province admin's whole-province statements gather the same
    lines)."""
    qs = scoped(user, services.statement_lines(month.replace(day=1)))
    t = qs.aggregate(n=Count("pk"), receivable=Sum("receivable"))
    groups = qs.values("operator_id", "city_id").distinct().count() if t["n"] else 0
    return IssuePreview(month.replace(day=1), t["n"], t["receivable"] or ZERO, groups)
