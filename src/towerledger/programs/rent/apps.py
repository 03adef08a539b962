from django.apps import AppConfig


class RentConfig(AppConfig):
    name = "towerledger.programs.rent"
    label = "rent"
    verbose_name = "场租与场地费包干 Site rent and lump-sum site fees"
