from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "towerledger.exchange"
    verbose_name = "文件交换 File exchange"

    def ready(self):
        # Each business app registers its import/export kinds here.
        from towerledger.sites import kinds  # noqa: F401
