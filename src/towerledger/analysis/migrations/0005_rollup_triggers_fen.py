"""The page rollups' triggers again (analysis.rollups): every sum kept to the fen, so
SQLite's float additions leave no trace of the order rows came in; an update of lines'
statements alone touches only the statements' rollup; differences of zero write nothing.
Re-installing is idempotent; a database migrated with the first triggers gets these."""

from django.db import migrations


def reinstall(apps, schema_editor):
    from towerledger.analysis import rollups

    rollups.install(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [("analysis", "0004_page_rollups")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
