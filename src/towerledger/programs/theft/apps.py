"""偷电整治与效益分成 Theft rectification and savings sharing (DOMAIN.md §7)."""
from django.apps import AppConfig


class TheftConfig(AppConfig):
    name = "towerledger.programs.theft"
    label = "theft"
    verbose_name = "偷电整治与效益分成 Theft rectification and savings sharing"

    def ready(self):
        from towerledger.analysis.books import register_rule
        from towerledger.analysis.close import month_closing, month_snapshots
        from towerledger.programs.theft import kinds, signals  # noqa: F401 — registers
        from towerledger.programs.theft.books import RECOVERY_OPEN

        month_closing.connect(signals.closing, dispatch_uid="theft.closing")
        month_snapshots.connect(signals.snapshots, dispatch_uid="theft.snapshots")
        register_rule(RECOVERY_OPEN)
