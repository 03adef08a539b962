from django.apps import AppConfig


class AccrualsConfig(AppConfig):
    name = "towerledger.programs.accruals"
    label = "accruals"
    verbose_name = "暂估与总账 Accruals and the general ledger"
