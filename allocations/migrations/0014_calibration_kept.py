"""Calibration's evidence cannot be rewritten, held by PostgreSQL itself: a sample, its cases
and every run on it are written once and refused on UPDATE and DELETE, so `QuerySet.update()`,
`.delete()` and raw SQL cannot change what a price was fitted on. SQLite keeps the models'
Python guards."""

from django.db import migrations

TABLES = ("calibrationsample", "calibrationcase", "calibrationrun")

GUARD = r"""
CREATE OR REPLACE FUNCTION allocations_calibration_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Calibration evidence is kept as it was made: % % cannot be changed or '
        'deleted (load a new sample, or fit again)', TG_TABLE_NAME, OLD.id;
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER allocations_{table}_guard BEFORE UPDATE OR DELETE ON allocations_{table}
    FOR EACH ROW EXECUTE FUNCTION allocations_calibration_guard();
"""
    for table in TABLES
)
UNGUARD = (
    "".join(
        f"DROP TRIGGER IF EXISTS allocations_{table}_guard ON allocations_{table};\n"
        for table in TABLES
    )
    + "DROP FUNCTION IF EXISTS allocations_calibration_guard();\n"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("allocations", "0013_reports")]

    operations = [migrations.RunPython(forwards, backwards)]
