from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "towerledger.analysis"
    verbose_name = "月度分析 Monthly analysis"
