"""ApiToken moves to the access app: forget it here without touching its table
(access 0002 takes it over, table ``api_apitoken`` unchanged)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("api", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ApiToken")],
            database_operations=[]),
    ]
