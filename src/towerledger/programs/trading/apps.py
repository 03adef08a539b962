from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "towerledger.programs.trading"
    label = "trading"
    verbose_name = "市场化交易 Market trading"

    def ready(self):
        from towerledger.analysis.close import month_snapshots
        from towerledger.bills.audit import EXTRA_CHECKS
        from towerledger.programs.trading import kinds, receivers, services

        kinds.register_kinds()
        if services.check_bills not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(services.check_bills)
        month_snapshots.connect(receivers.on_month_snapshots, dispatch_uid="trading-snapshots")
