from django.apps import AppConfig


class GeneratorConfig(AppConfig):
    name = "towerledger.programs.generator"
    label = "generator"
    verbose_name = "油机发电 Generator dispatch"
