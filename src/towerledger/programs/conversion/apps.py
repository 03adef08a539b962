from django.apps import AppConfig


class ConversionConfig(AppConfig):
    name = "towerledger.programs.conversion"
    label = "conversion"
    verbose_name = "转改直 Resupply to direct supply"

    def ready(self):
        from towerledger.analysis.close import month_snapshots
        from towerledger.programs.conversion import kinds, receivers

        kinds.register_kinds()
        month_snapshots.connect(receivers.on_month_snapshots,
                                dispatch_uid="conversion-snapshots")
