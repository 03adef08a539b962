"""Application now belongs to the receivables core (settlement); its table stays."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('collection', '0002_lean_indexes'),
        ('settlement', '0006_application_moved_line_root'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name='Application'),
        ], database_operations=[]),
    ]
