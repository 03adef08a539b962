from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "towerledger.programs.quality"
    label = "quality"
    verbose_name = "资源数据质量 Resource data quality"
