from django.db import migrations

OPERATORS = [("CMCC", "中国移动"), ("CUCC", "中国联通"), ("CTCC", "中国电信"),
             ("CBN", "中国广电"), ("OTHER", "拓展客户")]


def seed(apps, schema_editor):
    Operator = apps.get_model("org", "Operator")
    Agreement = apps.get_model("org", "OperatorAgreement")
    import datetime

    for code, name in OPERATORS:
        op, _ = Operator.objects.get_or_create(code=code, defaults={"name": name})
        # DOMAIN.md §4 defaults: confirm in 10 days, deemed confirmed, resolve in 20.
        Agreement.objects.get_or_create(operator=op, province=None,
                                        effective_from=datetime.date(2000, 1, 1))


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
