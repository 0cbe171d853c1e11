"""Create or update the least-privilege PostgreSQL role the app runs as.

Run it as the role that owns the tables (the one that runs `migrate`), after each migrate:

    DATABASE_URL=postgres://ras_owner:...@db/ras manage.py db_app_role ras_app

The app role may read and write rows, and nothing more: it owns nothing (so it cannot
`ALTER TABLE … DISABLE TRIGGER` or drop anything), is not a superuser (so it cannot set
`session_replication_role = replica` to skip triggers), has no TRUNCATE, and on the append-only
access log may only SELECT and INSERT. Default privileges give it the same on tables that later
migrations create.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg2 import sql

from assessments.models import PersonAccess

ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# Tables whose rows are never changed or removed: the app may only add to them.
APPEND_ONLY = [PersonAccess._meta.db_table]


class Command(BaseCommand):
    help = (
        "Create or update the least-privilege PostgreSQL role the app runs as (run as the owner)."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="The app's role, e.g. ras_app.")
        parser.add_argument(
            "--password-env",
            default="RAS_APP_PASSWORD",
            help="Environment variable holding the role's password (default RAS_APP_PASSWORD); "
            "unset leaves an existing role's password as it is.",
        )

    def handle(self, *args, role, password_env, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The app's database role is a PostgreSQL feature.")
        password = os.environ.get(password_env)
        name = sql.Identifier(role)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            verb = "ALTER" if cursor.fetchone() else "CREATE"
            statement = sql.SQL(
                "{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
            ).format(sql.SQL(verb), name)
            if password:
                statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
            cursor.execute(statement)
            database = sql.Identifier(connection.settings_dict["NAME"])
            cursor.execute("SELECT current_schema()")
            schema = sql.Identifier(cursor.fetchone()[0])
            for grant in (
                "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role}",
                "GRANT USAGE ON SCHEMA {schema} TO {role}",
                "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
                f"GRANT {ROW_PRIVILEGES} ON ALL TABLES IN SCHEMA {{schema}} TO {{role}}",
                "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} GRANT {ROW_PRIVILEGES} "
                "ON TABLES TO {role}",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT "
                "ON SEQUENCES TO {role}",
            ):
                cursor.execute(sql.SQL(grant).format(db=database, schema=schema, role=name))
            for table in APPEND_ONLY:
                cursor.execute(
                    sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(
                        sql.Identifier(table), name
                    )
                )
        self.stdout.write(
            f"Role {role} may read and write rows ({verb.lower()}d); it owns nothing, has no "
            "TRUNCATE and may only add to the access log."
        )
