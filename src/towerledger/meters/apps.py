from django.apps import AppConfig


class MetersConfig(AppConfig):
    name = "towerledger.meters"
    label = "meters"
    verbose_name = "动环与智能电表分析 Meter analytics"

    def ready(self):
        from towerledger.bills.audit import EXTRA_CHECKS
        from towerledger.meters.checks import theft_check

        if theft_check not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(theft_check)
