from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "towerledger.programs.quality"
    label = "quality"
    verbose_name = "资源数据质量 Resource data quality"

    def ready(self):
        from towerledger.analysis.close import month_snapshots
        from towerledger.programs.quality.services import close_snapshot

        month_snapshots.connect(close_snapshot, dispatch_uid="quality.close_snapshot")
