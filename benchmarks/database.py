"""Each benchmark's own PostgreSQL database, on the server BENCH_DATABASE_URL names (default:
the local one), never the one the product runs on."""

from __future__ import annotations

import os

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def use_bench_database(default_name: str) -> str:
    """Point Django (DATABASE_URL) at this benchmark's database — BENCH_DATABASE_NAME, or
    `default_name` — before Django is set up; returns its name."""
    name = os.environ.get("BENCH_DATABASE_NAME", default_name)
    os.environ["DATABASE_URL"] = SERVER.rsplit("/", 1)[0] + "/" + name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ras_site.settings")
    return name


def recreate_database(name: str) -> None:
    """Drop the benchmark's database (whoever is connected) and create it empty."""
    import psycopg2

    conn = psycopg2.connect(SERVER)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    conn.close()
