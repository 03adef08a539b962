from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "towerledger.exchange"
    verbose_name = "文件交换 File exchange"
    # The registry (exchange.registry) is filled by the apps above exchange, each in its own
    # ready(): exchange imports none of them (docs/architecture.md, "Layers").
