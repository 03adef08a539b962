from django.apps import AppConfig


class DecommissionConfig(AppConfig):
    name = "towerledger.programs.decommission"
    label = "decommission"
    verbose_name = "拆站 Decommissioning"

    def ready(self):
        from towerledger.bills.audit import EXTRA_CHECKS
        from towerledger.programs.decommission.checks import guard_imports, site_archived

        if site_archived not in EXTRA_CHECKS:
            EXTRA_CHECKS.append(site_archived)
        guard_imports()
