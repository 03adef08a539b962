"""An import job may create organisation data (provinces, cities) — issue 17."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("exchange", "0002_job_options_and_errors"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="create_org",
            field=models.BooleanField(default=False),
        ),
    ]
