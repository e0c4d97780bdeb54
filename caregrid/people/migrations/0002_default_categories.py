from django.db import migrations


def load(apps, schema_editor):
    from caregrid.people.categories import DEFAULT_CATEGORIES

    Category = apps.get_model("people", "Category")
    for order, (code, name, name_en, group, synonyms) in enumerate(DEFAULT_CATEGORIES, start=1):
        Category.objects.get_or_create(
            code=code,
            defaults={"name": name, "name_en": name_en, "group": group, "synonyms": synonyms, "sort_order": order},
        )


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
