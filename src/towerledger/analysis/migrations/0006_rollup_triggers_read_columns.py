"""The page rollups' triggers again (analysis.rollups), cheaper for bulk stages: an update
that changes none of the columns the rollups read returns at once (PostgreSQL) or does not
fire (SQLite ``UPDATE OF``); on PostgreSQL what is written off of the changed lines comes
from one aggregate over the write-offs of their id range instead of a subquery per line.
The sums are the same; re-installing is idempotent."""

from django.db import migrations


def reinstall(apps, schema_editor):
    from towerledger.analysis import rollups

    rollups.install(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [("analysis", "0005_rollup_triggers_fen")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
