"""直供电市场化交易: yearly contracts with a trader and the direct accounts enrolled."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from towerledger.domain.trading import DEFAULT_TOLERANCE, Terms
from towerledger.org.models import Province
from towerledger.sites.models import SupplyAccount


def price(verbose, **kw):
    return models.DecimalField(verbose, max_digits=8, decimal_places=4, **kw)


class Contract(models.Model):
    """交易合同: a year's contract for enrolled direct accounts, with a discount per kWh
    off the catalogue price or a traded price (one of them)."""

    code = models.CharField(_("contract no"), max_length=40, unique=True)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    trader = models.CharField(_("supplier / trader"), max_length=120)
    start = models.DateField(_("period start"))
    end = models.DateField(_("period end"))
    catalogue_price = price(_("catalogue price"))
    discount = price(_("discount per kWh"), null=True, blank=True)
    traded_price = price(_("traded price"), null=True, blank=True)
    tolerance = price(_("tolerance per kWh"), default=DEFAULT_TOLERANCE)
    note = models.CharField(_("note"), max_length=400, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("trading contract")
        ordering = ["-year", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")),
                                   name="trading_period_order"),
        ]

    def __str__(self):
        return self.code

    @property
    def terms(self) -> Terms:
        return Terms(self.catalogue_price, self.discount, self.traded_price)


class Enrolment(models.Model):
    """An account enrolled in a contract (its whole period)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="enrolments")
    account = models.ForeignKey(SupplyAccount, on_delete=models.PROTECT,
                                related_name="trading_enrolments")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contract", "account"],
                                               name="uniq_enrolment")]
        ordering = ["contract", "account"]
