"""The page rollups' triggers again (analysis.rollups), cheaper for allocation (issue 18):
on PostgreSQL an INSERT of lines writes the ``ChainBalance`` rows of new originals that are
chains of one line directly instead of refreshing their chains from every line, and the
site ledger's rows look up each site's code per group instead of joining the sites table
before grouping. The sums are the same; re-installing is idempotent."""

from django.db import migrations


def reinstall(apps, schema_editor):
    from towerledger.analysis import rollups

    rollups.install(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [("analysis", "0011_statement_modes")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
