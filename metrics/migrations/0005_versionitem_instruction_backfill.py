"""Items frozen before version items had an `instruction` column kept the instruction in
`prompt`: copy it over, so overlap checks by instruction text see them too."""

from django.db import migrations
from django.db.models import F


def forwards(apps, schema_editor):
    VersionItem = apps.get_model("metrics", "VersionItem")
    VersionItem.objects.filter(instruction="").update(instruction=F("prompt"))


class Migration(migrations.Migration):
    dependencies = [("metrics", "0004_training_prompt_subtasks")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
