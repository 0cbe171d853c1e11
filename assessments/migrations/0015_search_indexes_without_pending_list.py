"""The people-search trigram indexes without a pending list (GIN `fastupdate = off`).

With the default (on), a new or changed person goes into the index's unsorted pending list
until autovacuum merges it, and every search reads the whole list: after a bulk load a search of
20,000 people took 30–40 ms instead of 1.5 ms (measured with benchmarks.load before its VACUUM).
People are added or changed a few times a day, so each such write pays the (small) cost of
updating the index at once, and a search never depends on when autovacuum last ran. Any list
already pending is merged now.
"""

from django.db import migrations

INDEXES = ["person_given_name_trgm", "person_family_name_trgm", "person_reference_trgm"]


def _set(schema_editor, fastupdate: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"ALTER INDEX {index} SET (fastupdate = {fastupdate})", params=None)
        if fastupdate == "off":
            schema_editor.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)", params=None)


def forwards(apps, schema_editor):
    _set(schema_editor, "off")


def backwards(apps, schema_editor):
    _set(schema_editor, "on")


class Migration(migrations.Migration):
    dependencies = [("assessments", "0014_access_log_review_page")]

    operations = [migrations.RunPython(forwards, backwards)]
