"""Ageing by site's totals from a rollup (issue 18): ``OwedDay`` holds what the open chains
pushed on each day owe now, per city and operator and over every city and every operator,
kept beside ``SiteOwed`` by the same triggers, so the page's bucket totals read a few rows
instead of every open chain. Filled from ``ChainBalance`` before the triggers are
installed again."""

from django.db import migrations, models


def fill_and_install(apps, schema_editor):
    from towerledger.analysis import rollups

    rollups.fill_site_owed(schema_editor.connection)
    rollups.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    """Backwards: the triggers without the statements that write the table going away."""
    from towerledger.analysis import rollups

    with schema_editor.connection.cursor() as cur:
        for statement in rollups.install_sql(schema_editor.connection.vendor, **{
                **rollups.present(schema_editor.connection), "site_owed": True}):
            cur.execute(statement)


class Migration(migrations.Migration):

    dependencies = [("analysis", "0013_site_owed")]

    operations = [
        migrations.CreateModel(
            name="OwedDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("chain_date", models.DateField()),
                ("city_key", models.IntegerField()),
                ("op_key", models.IntegerField()),
                ("chains", models.IntegerField(default=0)),
                ("owed", models.DecimalField(decimal_places=2, default=0, max_digits=16)),
            ],
            options={"constraints": [models.UniqueConstraint(
                fields=("city_key", "op_key", "chain_date"), name="uniq_owed_day")]},
        ),
        migrations.RunPython(fill_and_install, uninstall),
    ]
