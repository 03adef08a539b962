"""An index on another app's table for the ageing pages (issue 18): whether anything was
reversed after a day (analysis.rollups.open_chains_today asks on every ageing request)
read from the few reversed write-offs instead of a scan of all of them."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("analysis", "0007_line_totals"), ("collection", "0001_initial")]

    operations = [migrations.RunSQL(
        "CREATE INDEX IF NOT EXISTS tl_application_reversed ON collection_application "
        "(reversed_at) WHERE reversed_at IS NOT NULL",
        "DROP INDEX IF EXISTS tl_application_reversed")]
