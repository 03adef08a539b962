from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "towerledger.sites"
    verbose_name = "站址与主数据 Master data"

    def ready(self):
        from towerledger.sites import kinds  # noqa: F401  (registers the master-data kinds)
