from django.db import migrations


def load(apps, schema_editor):
    from caregrid.people.categories import install_default_categories

    install_default_categories(apps.get_model("people", "Category"))


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
