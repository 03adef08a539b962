"""历史数据 Opening balances (DOMAIN.md §7)."""
from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "towerledger.programs.history"
    label = "history"
    verbose_name = "历史数据 Opening balances"

    def ready(self):
        from towerledger.programs.history.kinds import register_kinds

        register_kinds()   # legacy_ledger, legacy_unapplied
        from towerledger.analysis.close import month_snapshots
        from towerledger.programs.history.services import snapshot_month

        month_snapshots.connect(snapshot_month, dispatch_uid="history.snapshot_month")
