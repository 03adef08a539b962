"""ApiToken moves here from the api app: state only, the table ``api_apitoken`` (made by
api 0001) and its rows stay as they are."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("access", "0001_initial"),
        ("api", "0002_apitoken_moves_to_access"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.CreateModel(
                name="ApiToken",
                fields=[
                    ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                               serialize=False, verbose_name="ID")),
                    ("name", models.CharField(max_length=80, verbose_name="name")),
                    ("token_hash", models.CharField(max_length=64, unique=True)),
                    ("prefix", models.CharField(max_length=12)),
                    ("created_at", models.DateTimeField(auto_now_add=True,
                                                        verbose_name="created at")),
                    ("last_used_at", models.DateTimeField(blank=True, null=True,
                                                          verbose_name="last used at")),
                    ("revoked", models.BooleanField(default=False, verbose_name="revoked")),
                    ("revoked_at", models.DateTimeField(blank=True, null=True,
                                                        verbose_name="revoked at")),
                    ("user", models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens", to=settings.AUTH_USER_MODEL)),
                ],
                options={"verbose_name": "API token", "verbose_name_plural": "API tokens",
                         "ordering": ["id"], "db_table": "api_apitoken"},
            )],
            database_operations=[]),
    ]
