"""A statement's sums per settlement mode from a rollup (issue 18): ``StatementModes``
holds each statement's lines per mode (count, cost shares, tax factor amounts,
receivables) and what is written off of them, kept by the same triggers, so a statement's
page reads a few rows instead of summing its lines and joining their write-offs. Filled
from the lines on statements before the triggers that keep it are installed."""

from django.db import migrations, models


def fill_and_install(apps, schema_editor):
    from towerledger.analysis import rollups

    rollups.fill_statement_modes(schema_editor.connection)
    rollups.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    """Backwards: the triggers without the statement that writes the table going away."""
    from towerledger.analysis import rollups

    with schema_editor.connection.cursor() as cur:
        for statement in rollups.install_sql(schema_editor.connection.vendor, **{
                **rollups.present(schema_editor.connection), "statement_modes": False}):
            cur.execute(statement)


def _amount():
    return models.DecimalField(decimal_places=2, default=0, max_digits=16)


class Migration(migrations.Migration):

    dependencies = [("analysis", "0010_ledger_sites"), ("collection", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="StatementModes",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("mode", models.CharField(max_length=10)),
                ("lines", models.IntegerField(default=0)),
                ("cost_share", _amount()),
                ("tax_amount", _amount()),
                ("receivable", _amount()),
                ("paid", _amount()),
                ("statement", models.ForeignKey(
                    db_constraint=False, on_delete=models.deletion.DO_NOTHING,
                    related_name="+", to="collection.statement")),
            ],
            options={"constraints": [models.UniqueConstraint(
                fields=("statement", "mode"), name="uniq_statement_modes")]},
        ),
        migrations.RunPython(fill_and_install, uninstall),
    ]
