"""An index on another app's table for the operator's site report (issue 18): the first
month an operator user had a push (web.reports.push_months, on every request) read from
the index's first entry instead of scanning all the operator's lines."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("analysis", "0008_reversed_index")]

    operations = [migrations.RunSQL(
        "CREATE INDEX IF NOT EXISTS tl_line_operator_push ON settlement_line "
        "(operator_id, push_date)",
        "DROP INDEX IF EXISTS tl_line_operator_push")]
