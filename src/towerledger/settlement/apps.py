from django.apps import AppConfig


class SettlementConfig(AppConfig):
    name = "towerledger.settlement"
    verbose_name = "分摊与确认 Allocation and confirmation"

    def ready(self):
        from towerledger.settlement import kinds  # noqa: F401  (registers the export kinds)
