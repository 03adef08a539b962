from django.apps import AppConfig


class TheftConfig(AppConfig):
    name = "towerledger.programs.theft"
    label = "theft"
    verbose_name = "偷电整治与效益分成 Theft rectification and savings sharing"
