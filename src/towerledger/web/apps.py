from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "towerledger.web"
    verbose_name = "Web"
