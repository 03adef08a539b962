"""The month's data-quality scorecard, stored by the month close (one row per unit and
rule): province (city and county empty), city (county empty) and county."""

from django.db import models

from towerledger.org.models import City, County


class QualityScore(models.Model):
    class Level(models.TextChoices):
        PROVINCE = "P", "省 province"
        CITY = "C", "地市 city"
        COUNTY = "K", "区县 county"

    month = models.DateField(db_index=True)
    level = models.CharField(max_length=1, choices=Level.choices)
    city = models.ForeignKey(City, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="+")
    county = models.ForeignKey(County, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="+")
    rule = models.CharField(max_length=20)
    count = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    computed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["month", "level", "city", "county", "rule"]
        constraints = [models.UniqueConstraint(
            fields=["month", "level", "city", "county", "rule"], name="uniq_quality_score",
            nulls_distinct=False)]
