# MonthClose now belongs to the ledger app (ledger 0003 takes it over, same table): drop it
# from this app's state only, keeping the table and its rows. The web's month close gets its
# own job record, CloseJob, instead of borrowing exchange's ImportJob (issue 11).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("analysis", "0001_initial"),
        ("ledger", "0003_monthclose_from_analysis"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="MonthClose")],
            database_operations=[],
        ),
        migrations.CreateModel(
            name="CloseJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("month", models.DateField(verbose_name="month")),
                ("status", models.CharField(choices=[("QUEUED", "Queued"),
                                                     ("RUNNING", "Running"),
                                                     ("DONE", "Done"), ("FAILED", "Failed")],
                                            default="QUEUED", max_length=8)),
                ("step", models.CharField(blank=True, max_length=20)),
                ("done", models.PositiveSmallIntegerField(default=0)),
                ("total", models.PositiveSmallIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("message", models.TextField(blank=True)),
                ("errors", models.JSONField(blank=True, default=list)),
                ("error_count", models.PositiveIntegerField(default=0)),
                ("user", models.ForeignKey(blank=True, null=True,
                                           on_delete=django.db.models.deletion.PROTECT,
                                           related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "verbose_name": "month close run",
                "verbose_name_plural": "month close runs",
                "ordering": ["-created_at", "-id"],
            },
        ),
    ]
