from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "towerledger.programs.history"
    label = "history"
    verbose_name = "历史数据 Opening balances"
