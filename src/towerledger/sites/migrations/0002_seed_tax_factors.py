import datetime

from django.db import migrations

from towerledger.domain.tax import default_tax_factor_table


def seed(apps, schema_editor):
    Rate = apps.get_model("sites", "TaxFactorRate")
    for invoice_type, factor in default_tax_factor_table().items():
        Rate.objects.get_or_create(
            invoice_type=invoice_type.value, effective_from=datetime.date(2000, 1, 1),
            province=None, operator=None,
            defaults={"factor": factor, "note": "(1+13%)/(1+r_in)-1 默认值 default"})


class Migration(migrations.Migration):
    dependencies = [("sites", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
