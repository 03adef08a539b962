"""The month close's snapshot step: the month's realised market-trading savings (the
whole province) for the close summary. Idempotent: it only reads."""

from towerledger.domain.months import month_end
from towerledger.programs.trading.report import monthly_savings


def on_month_snapshots(sender=None, month=None, user=None, as_of=None, **kw) -> dict:
    saving = monthly_savings(None, month, month_end(month)).get(month)
    return {"savings": str(saving) if saving is not None else "0.00"}
