from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "towerledger.access"
    verbose_name = "用户与权限 People and access"
