"""Settings come from the environment, fail loudly, and production mode is locked down."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from ras_site.env import env_bool, env_choice, env_int

ROOT = Path(__file__).resolve().parent.parent
SECRET = "x" * 20 + "Yz0-9_abcdefghijklmnopqrstuvwxyzABCDEF"


def manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": SECRET,
    "DJANGO_ALLOWED_HOSTS": "budgets.example.gov.uk",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
}


def test_production_passes_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY is required"),
        ("DJANGO_ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS is required"),
        ("DATABASE_URL", "DATABASE_URL is required"),
    ],
)
def test_production_refuses_to_start_without_its_settings(missing, message):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    if missing == "DATABASE_URL":
        env["DATABASE_URL"] = ""
    result = manage("check", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_refuses_a_short_secret_key():
    result = manage("check", **{**PRODUCTION, "DJANGO_SECRET_KEY": "k" * 49})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is 49 characters; production needs 50 or more." in result.stderr


def test_seed_demo_refuses_to_run_in_production():
    result = manage("seed_demo", **PRODUCTION)
    assert result.returncode != 0
    assert "seed_demo refuses to run with DJANGO_ENV=production" in result.stderr


def test_production_refuses_debug():
    result = manage("check", DJANGO_DEBUG="true", **PRODUCTION)
    assert "DJANGO_DEBUG must be off" in result.stderr


def test_a_bad_value_names_the_variable():
    result = manage("check", SESSION_IDLE_MINUTES="half an hour")
    assert result.returncode != 0
    assert "SESSION_IDLE_MINUTES must be a whole number; got 'half an hour'" in result.stderr


def test_env_helpers(monkeypatch):
    monkeypatch.setenv("X_BOOL", "Yes")
    assert env_bool("X_BOOL", False) is True
    monkeypatch.setenv("X_BOOL", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL must be one of"):
        env_bool("X_BOOL", False)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ImproperlyConfigured, match="X_INT must be at least 1; got 0"):
        env_int("X_INT", 5, minimum=1)
    monkeypatch.setenv("X_ENV", "staging")
    with pytest.raises(ImproperlyConfigured, match="X_ENV must be one of development, production"):
        env_choice("X_ENV", "development", ("development", "production"))


def _setting(name: str, **env) -> str:
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        f"from django.conf import settings; print(settings.{name})",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_emails_are_printed_without_an_smtp_server_and_sent_through_one_when_configured():
    assert _setting("EMAIL_BACKEND") == "django.core.mail.backends.console.EmailBackend"
    smtp = {"EMAIL_HOST": "smtp.example.gov.uk", "EMAIL_PORT": "2525", "EMAIL_USE_TLS": "no"}
    assert _setting("EMAIL_BACKEND", **smtp) == "django.core.mail.backends.smtp.EmailBackend"
    assert _setting("EMAIL_PORT", **smtp) == "2525"
    assert _setting("EMAIL_USE_TLS", **smtp) == "False"
    assert _setting("SITE_URL", SITE_URL="https://budgets.example.gov.uk/") == (
        "https://budgets.example.gov.uk"
    )


def test_a_site_url_without_a_scheme_is_refused():
    result = manage("check", SITE_URL="budgets.example.gov.uk")
    assert result.returncode != 0
    assert "SITE_URL must start with http:// or https://" in result.stderr
