"""The month close's receivers (analysis.close): measure and share the savings of the month
(``month_closing``), snapshot the program's figures per city (``month_snapshots``). Both
idempotent: a resumed close repeats nothing."""

from django.db import transaction

from towerledger.programs.theft import report, services
from towerledger.programs.theft.models import Case, TheftSnapshot


def closing(sender=None, month=None, user=None, as_of=None, **kw) -> dict:
    return services.run_month(month, user, as_of)


def snapshots(sender=None, month=None, user=None, as_of=None, **kw) -> dict:
    cities = set(Case.objects.values_list("city_id", flat=True))
    with transaction.atomic():
        TheftSnapshot.objects.filter(month=month).delete()
        TheftSnapshot.objects.bulk_create([
            TheftSnapshot(month=month, city_id=c, figures=report.month_figures(month, c, as_of))
            for c in sorted(cities)])
    return {"cities": len(cities)}
