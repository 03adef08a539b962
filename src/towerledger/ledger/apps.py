from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "towerledger.ledger"
    verbose_name = "总账 Ledger"
