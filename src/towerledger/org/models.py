"""The tower company's org tree (省/地市/区县) and the operators (运营商) it serves."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Province(models.Model):
    """省公司."""

    name = models.CharField(_("province"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("province")
        verbose_name_plural = _("provinces")

    def __str__(self):
        return self.name


class City(models.Model):
    """地市."""

    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="cities")
    name = models.CharField(_("city"), max_length=40)

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        constraints = [models.UniqueConstraint(fields=["province", "name"], name="uniq_city")]
        ordering = ["name"]

    def __str__(self):
        return self.name


class County(models.Model):
    """区县: every site, and so every record, belongs to one county."""

    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="counties")
    name = models.CharField(_("county"), max_length=40)

    class Meta:
        verbose_name = _("county")
        verbose_name_plural = _("counties")
        constraints = [models.UniqueConstraint(fields=["city", "name"], name="uniq_county")]
        ordering = ["name"]

    def __str__(self):
        return f"{self.city.name}/{self.name}"


class OperatorCode(models.TextChoices):
    CMCC = "CMCC", _("China Mobile")
    CUCC = "CUCC", _("China Unicom")
    CTCC = "CTCC", _("China Telecom")
    CBN = "CBN", _("China Broadnet")
    OTHER = "OTHER", _("Other customer")


class Operator(models.Model):
    """运营商 / 客户."""

    code = models.CharField(max_length=8, choices=OperatorCode.choices, unique=True)
    name = models.CharField(_("name"), max_length=40)

    class Meta:
        verbose_name = _("operator")
        verbose_name_plural = _("operators")
        ordering = ["code"]

    def __str__(self):
        return self.name


class OperatorAgreement(models.Model):
    """Confirmation and dispute terms agreed with an operator (per province, dated)."""

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="agreements")
    province = models.ForeignKey(Province, on_delete=models.PROTECT, null=True, blank=True)
    effective_from = models.DateField(_("effective from"))
    confirm_within_days = models.PositiveSmallIntegerField(_("confirm within days"), default=10)
    deemed_confirmed = models.BooleanField(_("deemed confirmed when silent"), default=True)
    resolve_within_days = models.PositiveSmallIntegerField(_("resolve within days"), default=20)

    class Meta:
        verbose_name = _("operator agreement")
        verbose_name_plural = _("operator agreements")
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "province", "effective_from"], name="uniq_agreement"
            )
        ]

    def __str__(self):
        return f"{self.operator} {self.effective_from}"
