"""Make the access log append-only in PostgreSQL itself: an UPDATE or DELETE of a row raises.

People's records are special category data and every opening must stay attributable, so the
database refuses to rewrite the log even for code that bypasses the ORM. (SQLite, used only for
trying the product locally, relies on the model's own refusal.)
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION assessments_personaccess_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The access log is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER assessments_personaccess_append_only
    BEFORE UPDATE OR DELETE ON assessments_personaccess
    FOR EACH ROW EXECUTE FUNCTION assessments_personaccess_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS assessments_personaccess_append_only ON assessments_personaccess;
DROP FUNCTION IF EXISTS assessments_personaccess_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
