"""Budget versions and their history rows cheaper to write (re-pricing writes a new version,
supersedes the old one and writes a history row of each, for every person):

- the budget history table keeps two of its eleven indexes: its primary key and the recorded
  budget's id (a budget's page reads its history by it). Nothing reads budget history by
  date, user or any other foreign key (allocations.models.IdIndexedHistory); the history
  user's foreign key constraint stays;
- PostgreSQL compresses a budget's explanation (`breakdown`: about 1.9 kB with ten sections'
  points, over the 2 kB a row where PostgreSQL starts compressing) with lz4 rather than pglz,
  in the budgets and their history: several times cheaper to compress, about as small. New
  values only: rows already written keep pglz, and both read back alike. SQLite has no such
  setting.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


TABLES = ("allocations_indicativebudget", "allocations_historicalindicativebudget")


def _compression(schema_editor, method: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"ALTER TABLE {table} ALTER COLUMN breakdown SET COMPRESSION {method}", params=None
        )


def lz4(apps, schema_editor):
    _compression(schema_editor, "lz4")


def pglz(apps, schema_editor):
    _compression(schema_editor, "pglz")


class Migration(migrations.Migration):
    dependencies = [
        ("allocations", "0022_preview_runs"),
        ("assessments", "0017_draft_started_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalindicativebudget",
            name="assessment",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="assessments.assessment",
            ),
        ),
        migrations.AlterField(
            model_name="historicalindicativebudget",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalindicativebudget",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalindicativebudget",
            name="history_date",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="historicalindicativebudget",
            name="history_user",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="historicalindicativebudget",
            name="person",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="assessments.person",
            ),
        ),
        migrations.AlterField(
            model_name="historicalindicativebudget",
            name="policy",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="allocations.raspolicy",
            ),
        ),
        migrations.AlterField(
            model_name="historicalindicativebudget",
            name="replaces",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="allocations.indicativebudget",
            ),
        ),
        migrations.AlterField(
            model_name="historicalindicativebudget",
            name="repricing_run",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="allocations.repricingrun",
            ),
        ),
        migrations.RunPython(lz4, pglz),
    ]
