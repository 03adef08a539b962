"""The month close's snapshot step: the month's realised 转改直 savings (the system's view,
the whole province) for the close summary, and the candidates' ranking as of the month's
last day, stored for the candidates page (``report.store_ranking``). Idempotent: the
savings are only read, the ranking of the same day is replaced."""

from towerledger.domain.months import month_end
from towerledger.programs.conversion.report import monthly_savings, store_ranking


def on_month_snapshots(sender=None, month=None, user=None, as_of=None, **kw) -> dict:
    saving = monthly_savings(None, month, month_end(month)).get(month)
    ranking = store_ranking(month_end(month))
    return {"savings": str(saving) if saving is not None else "0.00",
            "candidates": ranking.accounts}
