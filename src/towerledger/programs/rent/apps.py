"""场租与场地费包干 Site rent and lump-sum site fees (DOMAIN.md §7)."""
from django.apps import AppConfig


class RentConfig(AppConfig):
    name = "towerledger.programs.rent"
    label = "rent"
    verbose_name = "场租与场地费包干 Site rent and lump-sum site fees"

    def ready(self):
        from towerledger.analysis.books import register_rule
        from towerledger.analysis.close import month_closing, month_snapshots
        from towerledger.programs.rent import receivers
        from towerledger.programs.rent.books import RENT_ADVANCE_OPEN, RENT_DEPOSITS
        from towerledger.programs.rent.kinds import register_kinds

        register_kinds()
        month_closing.connect(receivers.closing, dispatch_uid="rent.closing")
        month_snapshots.connect(receivers.snapshots, dispatch_uid="rent.snapshots")
        register_rule(RENT_ADVANCE_OPEN)
        register_rule(RENT_DEPOSITS)
