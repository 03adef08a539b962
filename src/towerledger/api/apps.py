from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "towerledger.api"
    label = "api"
    verbose_name = "接口 JSON API"
