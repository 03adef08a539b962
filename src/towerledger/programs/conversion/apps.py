from django.apps import AppConfig


class ConversionConfig(AppConfig):
    name = "towerledger.programs.conversion"
    label = "conversion"
    verbose_name = "转改直 Resupply to direct supply"
