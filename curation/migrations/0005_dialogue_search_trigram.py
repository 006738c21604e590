# A trigram index on upper(search_text) makes case-insensitive "contains" searches fast on PostgreSQL at a million dialogues.
# Other databases (the quick start's SQLite) search without it.

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS dialogue_search_trgm "
        "ON curation_dialogue USING gin (upper(search_text) gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS dialogue_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("curation", "0004_dialogue_import")]

    operations = [migrations.RunPython(create, drop)]
