from django.apps import AppConfig


class BillsConfig(AppConfig):
    name = "towerledger.bills"
    verbose_name = "缴费与稽核 Bills and audits"

    def ready(self):
        from towerledger.bills import kinds  # noqa: F401  (registers the bills/payments kinds)
