"""油机发电 Generator dispatch (DOMAIN.md §7)."""
from django.apps import AppConfig


class GeneratorConfig(AppConfig):
    name = "towerledger.programs.generator"
    label = "generator"
    verbose_name = "油机发电 Generator dispatch"

    def ready(self):
        from towerledger.analysis.books import register_rule
        from towerledger.analysis.close import month_closing, month_snapshots
        from towerledger.programs.generator import kinds, services
        from towerledger.programs.generator.books import GEN_ADVANCE_OPEN

        kinds.register_kinds()
        month_closing.connect(services.on_month_closing, dispatch_uid="generator-closing")
        month_snapshots.connect(services.on_month_snapshots, dispatch_uid="generator-snapshots")
        register_rule(GEN_ADVANCE_OPEN)
