from django.apps import AppConfig


class CollectionConfig(AppConfig):
    name = "towerledger.collection"
    verbose_name = "对账与回款 Statements and collection"

    def ready(self):
        from towerledger.collection import kinds  # noqa: F401  (registers receipts and exports)
