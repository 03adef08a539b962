"""月结与月度分析: the month's close and its KPI snapshots at every scope.

A snapshot row holds the numerators and denominators (amounts and counts) of every KPI
for one month, one scope (province, city, county or site, by key) and one operator ("*"
for all operators), so pages and reports read rates without replaying history."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class MonthClose(models.Model):
    """One month's close: its steps as they finish, so an interrupted close resumes."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", pgettext_lazy("month close", "Running")
        CLOSED = "CLOSED", pgettext_lazy("month close", "Closed")

    month = models.DateField(_("month"), unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    steps = models.JSONField(default=list)          # names of the steps finished
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    summary = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("month close")
        verbose_name_plural = _("month closes")


class Snapshot(models.Model):
    class Level(models.TextChoices):
        PROVINCE = "PROVINCE", _("Province")
        CITY = "CITY", _("City")
        COUNTY = "COUNTY", _("County")
        SITE = "SITE", _("Site")

    month = models.DateField(_("month"))
    level = models.CharField(max_length=8, choices=Level.choices)
    key = models.CharField(max_length=60)            # province/city/county name, site code
    parent = models.CharField(max_length=60, blank=True)   # the city of a county or site
    operator = models.CharField(max_length=8, default="*")
    figures = models.JSONField(default=dict)         # name -> number (amounts as strings)

    class Meta:
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        constraints = [models.UniqueConstraint(fields=["month", "level", "key", "operator"],
                                               name="uniq_snapshot")]
        indexes = [models.Index(fields=["month", "level", "operator"]),
                   models.Index(fields=["level", "key", "operator", "month"])]
