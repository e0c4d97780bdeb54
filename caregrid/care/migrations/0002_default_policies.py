from django.db import migrations


def load(apps, schema_editor):
    from django.utils import timezone

    from caregrid.care.policies.defaults import install_default_policies

    install_default_policies(apps.get_model("care", "CarePolicy"), apps.get_model("people", "Category"), timezone.now())


class Migration(migrations.Migration):
    dependencies = [("care", "0001_initial"), ("people", "0002_default_categories")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
