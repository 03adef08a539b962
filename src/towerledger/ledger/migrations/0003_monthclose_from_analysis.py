# MonthClose moves from the analysis app to the ledger (issue 11: the journal reads the month
# lock without importing analysis). The table stays analysis_monthclose: only Django's state
# moves, no row is copied. analysis 0002 drops the model from analysis's state after this.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0002_lean_indexes"),
        ("analysis", "0001_initial"),          # the table exists (made there)
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="MonthClose",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                                   serialize=False, verbose_name="ID")),
                        ("month", models.DateField(unique=True, verbose_name="month")),
                        ("status", models.CharField(choices=[("RUNNING", "Running"),
                                                             ("CLOSED", "Closed")],
                                                    default="RUNNING", max_length=8)),
                        ("steps", models.JSONField(default=list)),
                        ("started_at", models.DateTimeField(auto_now_add=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("summary", models.JSONField(default=dict)),
                        ("closed_by", models.ForeignKey(
                            blank=True, null=True,
                            on_delete=django.db.models.deletion.PROTECT, related_name="+",
                            to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "month close",
                        "verbose_name_plural": "month closes",
                        "db_table": "analysis_monthclose",
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
