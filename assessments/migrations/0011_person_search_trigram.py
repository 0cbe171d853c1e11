"""People search without scanning the table: trigram indexes (pg_trgm) on the upper-cased first
name, last name and reference, the expressions Django's case-insensitive `icontains` compares,
so `person_list`'s search is answered from the indexes at any caseload size.

pg_trgm is a trusted extension: the database's owner may create it without being a superuser.
(SQLite, used only for trying the product locally, searches by scanning.)
"""

from django.db import migrations

COLUMNS = ["given_name", "family_name", "reference"]

CREATE = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"] + [
    f"CREATE INDEX IF NOT EXISTS person_{column}_trgm ON assessments_person "
    f"USING gin ((upper({column}::text)) gin_trgm_ops)"
    for column in COLUMNS
]
DROP = [f"DROP INDEX IF EXISTS person_{column}_trgm" for column in COLUMNS]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0010_user_email_notifications")]

    operations = [migrations.RunPython(forwards, backwards)]
