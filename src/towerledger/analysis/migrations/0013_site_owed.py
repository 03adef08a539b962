"""Ageing by site as of today from a rollup (issue 18): ``SiteOwed`` holds what each site's
open chains owe now (how many, how much) per city and operator, and over every city and
every operator, so the page asks the database for its fifty largest sites instead of
grouping every open chain per request. Filled from ``ChainBalance`` before the triggers
that keep it are installed (PostgreSQL: on ``ChainBalance``; SQLite: beside its refresh);
the site-code trigger keeps its codes too."""

import django.db.models.deletion
from django.db import migrations, models

OWED_TRIGGERS = ("rollup_owed_ins", "rollup_owed_upd", "rollup_owed_del")


def fill_and_install(apps, schema_editor):
    from towerledger.analysis import rollups

    rollups.fill_site_owed(schema_editor.connection)
    rollups.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    """Backwards: the triggers without the statements that write the table going away."""
    from towerledger.analysis import rollups

    connection = schema_editor.connection
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for name in OWED_TRIGGERS:
                cur.execute(f"DROP TRIGGER IF EXISTS {name} ON analysis_chainbalance")
                cur.execute(f"DROP FUNCTION IF EXISTS {name}()")
        for statement in rollups.install_sql(connection.vendor, **{
                **rollups.present(connection), "site_owed": False}):
            cur.execute(statement)


class Migration(migrations.Migration):

    dependencies = [("analysis", "0012_rollup_insert_cheaper"), ("sites", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="SiteOwed",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("site_code", models.CharField(max_length=40)),
                ("city_key", models.IntegerField()),
                ("op_key", models.IntegerField()),
                ("chains", models.IntegerField(default=0)),
                ("owed", models.DecimalField(decimal_places=2, default=0, max_digits=16)),
                ("site", models.ForeignKey(db_constraint=False, db_index=False,
                                           on_delete=django.db.models.deletion.DO_NOTHING,
                                           related_name="+", to="sites.site")),
            ],
            options={
                "constraints": [models.UniqueConstraint(
                    fields=("site", "city_key", "op_key"), name="uniq_site_owed")],
                "indexes": [models.Index(
                    condition=models.Q(("chains", 0), _negated=True),
                    fields=["city_key", "op_key", "-owed", "site_code"],
                    name="site_owed_page")],
            },
        ),
        migrations.RunPython(fill_and_install, uninstall),
    ]
