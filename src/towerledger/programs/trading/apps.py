from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "towerledger.programs.trading"
    label = "trading"
    verbose_name = "市场化交易 Market trading"
