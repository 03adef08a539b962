from django.apps import AppConfig


class MetersConfig(AppConfig):
    name = "towerledger.meters"
    label = "meters"
    verbose_name = "动环与智能电表分析 Meter analytics"
