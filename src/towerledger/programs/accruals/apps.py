"""暂估与总账 Accruals and the general ledger (DOMAIN.md §7)."""
from django.apps import AppConfig


class AccrualsConfig(AppConfig):
    name = "towerledger.programs.accruals"
    label = "accruals"
    verbose_name = "暂估与总账 Accruals and the general ledger"

    def ready(self):
        from towerledger.analysis.books import register_rule
        from towerledger.analysis.close import month_closing
        from towerledger.analysis.tasks import daily
        from towerledger.programs.accruals.books import ACCRUED_OPEN
        from towerledger.programs.accruals.services import on_daily, on_month_closing

        month_closing.connect(on_month_closing, dispatch_uid="accruals.month_closing")
        daily.connect(on_daily, dispatch_uid="accruals.daily")
        register_rule(ACCRUED_OPEN)
