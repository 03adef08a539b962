"""The receivables core owns write-offs: Application moves from collection to settlement
(state only: the table ``collection_application`` stays), and an adjustment line names the
original line of its receivable chain (``root``)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_roots(apps, schema_editor):
    """Every existing adjustment gets the original at the end of its ``adjusts`` chain."""
    Line = apps.get_model("settlement", "Line")
    parent = dict(Line.objects.filter(adjusts__isnull=False).values_list("pk", "adjusts_id"))
    for pk in parent:
        root = parent[pk]
        while root in parent:
            root = parent[root]
        Line.objects.filter(pk=pk).update(root_id=root)


class Migration(migrations.Migration):

    dependencies = [
        ('settlement', '0005_dispute_raised_at_default'),
        ('collection', '0002_lean_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='line',
            name='root',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='settlement.line'),
        ),
        migrations.RunPython(fill_roots, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='Application',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('amount', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='amount')),
                    ('rule', models.CharField(choices=[('REFERENCE', 'Statement or invoice number in the reference'), ('AMOUNT', 'Exact amount of one open statement'), ('OLDEST', 'Oldest first within operator and city'), ('MANUAL', 'Matched by hand')], max_length=10, verbose_name='rule')),
                    ('reason', models.CharField(max_length=200, verbose_name='reason')),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('reversed_at', models.DateTimeField(blank=True, null=True)),
                    ('reversal_reason', models.CharField(blank=True, max_length=200)),
                    ('created_by', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('line', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='settlement.line')),
                    ('reversed_by', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('receipt', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='collection.receipt')),
                    ('statement', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='collection.statement')),
                ],
                options={
                    'verbose_name': 'write-off',
                    'verbose_name_plural': 'write-offs',
                    'db_table': 'collection_application',
                    'indexes': [models.Index(fields=['line', 'reversed_at'], name='collection__line_id_972e2f_idx')],
                },
            ),
        ], database_operations=[]),
    ]
