from django.apps import AppConfig


class DecommissionConfig(AppConfig):
    name = "towerledger.programs.decommission"
    label = "decommission"
    verbose_name = "拆站 Decommissioning"
