"""The site ledger's row count per month from a rollup (issue 18): ``LedgerSites`` counts
the sites with lines per (month, city, operator) and per (month, operator) over every city,
so the ledger's pager adds up a few rows a month instead of grouping a province's history.
Filled from ``LedgerFigures`` (one pass over its rows) before the triggers that keep it
are installed; the other rollups' triggers are the same."""

import django.db.models.deletion
from django.db import migrations, models


def fill_and_install(apps, schema_editor):
    from towerledger.analysis import rollups

    rollups.fill_ledger_sites(schema_editor.connection)
    rollups.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    """Backwards: the triggers without the statement that writes the table going away."""
    from towerledger.analysis import rollups

    with schema_editor.connection.cursor() as cur:
        for statement in rollups.install_sql(schema_editor.connection.vendor, **{
                **rollups.present(schema_editor.connection), "ledger_sites": False}):
            cur.execute(statement)


class Migration(migrations.Migration):

    dependencies = [("analysis", "0009_line_push_index"), ("org", "0002_seed_operators")]

    operations = [
        migrations.CreateModel(
            name="LedgerSites",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("city_key", models.IntegerField()),
                ("op_key", models.IntegerField()),
                ("sites", models.IntegerField(default=0)),
                ("city", models.ForeignKey(db_constraint=False, null=True,
                                           on_delete=django.db.models.deletion.DO_NOTHING,
                                           related_name="+", to="org.city")),
                ("operator", models.ForeignKey(db_constraint=False, null=True,
                                               on_delete=django.db.models.deletion.DO_NOTHING,
                                               related_name="+", to="org.operator")),
            ],
            options={"constraints": [models.UniqueConstraint(
                fields=("month", "city_key", "op_key"), name="uniq_ledger_sites")]},
        ),
        migrations.RunPython(fill_and_install, uninstall),
    ]
