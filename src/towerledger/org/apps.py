from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "towerledger.org"
    verbose_name = "组织与运营商 Organisation"
