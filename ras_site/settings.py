"""Settings for the personal budgets service, all driven by environment variables.

See README.md ("Configuration") for every variable. Two modes:

* development (the default): DEBUG may be switched on, an SQLite file is used when no
  DATABASE_URL is given, and a throwaway secret key is generated for the process.
* production (DJANGO_ENV=production): DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS are required,
  DEBUG is refused, and the HTTPS-only cookie, HSTS and CSP settings are on, so that
  ``manage.py check --deploy --fail-level WARNING`` passes.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from ras_site.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = env_choice("DJANGO_ENV", "development", ("development", "production"))
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off when DJANGO_ENV=production.")

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_ENV=production "
            "(50 or more random characters; never commit it)."
        )
    SECRET_KEY = get_random_secret_key()
if PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        f"DJANGO_SECRET_KEY is {len(SECRET_KEY)} characters; production needs 50 or more."
    )

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is required when DJANGO_ENV=production (comma-separated host names)."
    )
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # Django's widget templates, for FORM_RENDERER below
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "axes",
    "csp",
    # Two-step sign-in: authenticator-app codes (TOTP) and one-time recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "assessments",
    "allocations",
    "panels",
    # After django-otp's plugins: its admin replaces theirs (ras_site/two_factor/admin.py).
    "ras_site.two_factor",
    # After allocations, whose `db_worker` (the library's, recovering stalled jobs) wins.
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Logs out a session idle for SESSION_IDLE_MINUTES (before the login check below).
    "ras_site.middleware.IdleSessionTimeout",
    # request.user.is_verified(): has this session given a two-step sign-in code?
    "django_otp.middleware.OTPMiddleware",
    # Every page needs a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # A signed-in session that still owes a code (or, when TWO_FACTOR_REQUIRED, has not set up
    # two-step sign-in) reaches only the two-step pages and logging out.
    "ras_site.two_factor.middleware.TwoFactorGate",
    # Pages and PDFs with personal data are never cached (Cache-Control: no-store).
    "ras_site.middleware.NoStoreForSignedInUsers",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # A page whose query ran past PAGE_STATEMENT_TIMEOUT_SECONDS says so (503), not a 500.
    "ras_site.db_limits.StatementTimeoutPage",
    # Records request.user as the author of every history row written during the request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Must be last: turns throttled logins into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ras_site.urls"
WSGI_APPLICATION = "ras_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ras_site.context_processors.service",
                "ras_site.context_processors.waiting",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# PostgreSQL is the database. With no DATABASE_URL, a local SQLite file lets a newcomer try the
# product with nothing installed; the test suite refuses to run on anything but PostgreSQL.
DATABASE_URL = env_str("DATABASE_URL")
if PRODUCTION and not DATABASE_URL:
    raise ImproperlyConfigured("DATABASE_URL is required when DJANGO_ENV=production.")
try:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL could not be understood: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite lets one connection write at a time. With these settings a few users and the
    # background worker take turns without a "database is locked" error:
    # * transactions ask for the write lock when they begin (BEGIN IMMEDIATE). On the default
    #   (deferred) mode, a transaction that has read and then finds another connection writing
    #   fails at once instead of waiting;
    # * each write waits up to `timeout` seconds for the lock (the default is 5);
    # * WAL lets pages read while another connection writes. With WAL, synchronous=NORMAL is
    #   safe, though a power cut can lose the last commits.
    # tests/test_sqlite_file_database.py runs users and the worker on a SQLite file to check it.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
# Limits on each statement and on an idle transaction, set by the web process on each of its
# connections (ras_site/db_limits.py); gunicorn's worker timeout (30 s) must stay above them.
PAGE_STATEMENT_TIMEOUT_SECONDS = env_int("PAGE_STATEMENT_TIMEOUT_SECONDS", 20, minimum=1)
PAGE_IDLE_TRANSACTION_SECONDS = env_int("PAGE_IDLE_TRANSACTION_SECONDS", 60, minimum=1)
# The test suite's own database (pytest-django adds a suffix per parallel worker).
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_ras")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background jobs ------------------------------------------------------------------------
# The django-tasks backport (Django 6's tasks API) with a database-backed queue; run
# `manage.py db_worker` beside the web server (`make run` does). Switching to another backend
# later is a change here only.
TASKS = {"default": {"BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}
# A running job renews its lease at every checkpoint (every few letters, every re-pricing
# chunk); one whose lease has run out is stalled (its worker died) and is resumed where it
# stopped. Longer than the slowest step between two checkpoints.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 120, minimum=1)
# A re-pricing run is cut into parts of this many people, each applied in one transaction by
# whichever worker takes it (allocations.services.repricing): several `db_worker`s share a run.
REPRICING_CHUNK = env_int("REPRICING_CHUNK", 5_000, minimum=1)
# A re-pricing preview of more people than this is worked out by a background job, in parts of
# REPRICING_PREVIEW_PART people that several `db_worker`s share, and its page shows progress
# until it is done (allocations.services.repricing_preview); up to this many, in the request
# (about 70 µs a person: 20,000 people in under 2 s).
REPRICING_PREVIEW_IN_REQUEST_MAX = env_int("REPRICING_PREVIEW_IN_REQUEST_MAX", 20_000, minimum=0)
REPRICING_PREVIEW_PART = env_int("REPRICING_PREVIEW_PART", 10_000, minimum=1)

# The menu's count of what waits for the user is kept this long (ras_site.context_processors);
# My work always counts afresh.
MY_WORK_COUNT_SECONDS = env_int("MY_WORK_COUNT_SECONDS", 30, minimum=0)

# Queries compiled once a process (ras_site.compiled): with this on, every use compiles afresh as
# well and refuses to run when its key missed something the SQL depends on (the test suite has
# it on).
COMPILED_QUERIES_CHECK = env_bool("COMPILED_QUERIES_CHECK", DEBUG)

# --- Accounts, passwords, sessions, throttling ----------------------------------------------
AUTH_USER_MODEL = "assessments.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out username/address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, reading the user with their team and their permissions in one query.
    "assessments.auth.AccountBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions end after this many minutes without a request (each request renews the clock). The
# session row is written only when it changes: ras_site.middleware.IdleSessionTimeout keeps the
# time of the last request in it, rewritten at most once a SESSION_ACTIVITY_WRITE_SECONDS.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_ACTIVITY_WRITE_SECONDS = 60
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60 + SESSION_ACTIVITY_WRITE_SECONDS
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Failed logins: after AXES_FAILURE_LIMIT failures for one username from one address, that pair
# is locked out for AXES_COOLOFF_MINUTES; after AXES_ADDRESS_FAILURE_LIMIT failures from one
# address across all usernames (password spraying), the address is (ras_site/login_throttle.py).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 20, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "ras_site.login_throttle.AddressAwareHandler"
AXES_USERNAME_CALLABLE = "ras_site.login_throttle.username_for_throttle"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0, minimum=0) or None

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
# Production serves the collected, hashed files (`collectstatic`); elsewhere WhiteNoise finds
# them in place, so `make run` works with DEBUG on or off.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
WHITENOISE_USE_FINDERS = not PRODUCTION
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Issued documents (letters, report packs) ---------------------------------------------------
# Their PDFs are kept outside the database row, in the "documents" storage (the row keeps the
# file's name, SHA-256 and size; every download checks the SHA-256: ras_site/documents.py).
# PDF_STORAGE=filesystem (the default): files under PDF_STORAGE_DIR (default var/documents
# beside manage.py), written durably (fsync) and readable by the app's user only.
# PDF_STORAGE=s3: an S3-compatible bucket through django-storages' S3 backend (boto3), named by
# PDF_S3_BUCKET, with PDF_S3_ENDPOINT_URL (another S3-compatible service), PDF_S3_REGION and
# PDF_S3_PREFIX (a folder in the bucket); credentials come from boto3's own chain
# (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile or an instance role), never settings.
PDF_STORAGE = env_choice("PDF_STORAGE", "filesystem", ("filesystem", "s3"))
PDF_STORAGE_DIR = Path(env_str("PDF_STORAGE_DIR", "") or BASE_DIR / "var" / "documents")
if PDF_STORAGE == "s3":
    if not env_str("PDF_S3_BUCKET"):
        raise ImproperlyConfigured("PDF_STORAGE=s3 needs PDF_S3_BUCKET (the bucket's name).")
    STORAGES["documents"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("PDF_S3_BUCKET"),
            "endpoint_url": env_str("PDF_S3_ENDPOINT_URL") or None,
            "region_name": env_str("PDF_S3_REGION") or None,
            "location": env_str("PDF_S3_PREFIX", ""),
            # Never replace a stored file: a second file of the same name gets another name.
            "file_overwrite": False,
            # Private: the app reads the files and sends them itself, after checking them.
            "default_acl": None,
            "querystring_auth": True,
        },
    }
else:
    STORAGES["documents"] = {
        "BACKEND": "ras_site.documents.DurableFileSystemStorage",
        "OPTIONS": {
            "location": str(PDF_STORAGE_DIR),
            "file_permissions_mode": 0o640,
            "directory_permissions_mode": 0o750,
        },
    }

# Widgets render with the project's templates too (templates/widgets/: the day/month/year input).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security headers -------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# No inline scripts or styles anywhere: every asset is served from this site.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("DJANGO_BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- The risk enablement panel ------------------------------------------------------------------
# Members without a conflict needed (the chair included) before the chair may record a decision.
PANEL_QUORUM = env_int("PANEL_QUORUM", 3, minimum=1)

# --- Questionnaire import ---------------------------------------------------------------------
# An uploaded questionnaire file is refused with a message beyond these (the default
# questionnaire has 10 sections, 33 questions, 5 options at most and 8 triggers). Every option
# is saved with its history, so the largest file allowed (2,000 options) takes seconds, well
# inside a worker's timeout; a 20,000-question file is refused before anything is written.
QUESTIONNAIRE_IMPORT_MAX_BYTES = env_int("QUESTIONNAIRE_IMPORT_MAX_BYTES", 1_000_000, minimum=1)
QUESTIONNAIRE_MAX_SECTIONS = env_int("QUESTIONNAIRE_MAX_SECTIONS", 40, minimum=1)
QUESTIONNAIRE_MAX_QUESTIONS_PER_SECTION = env_int(
    "QUESTIONNAIRE_MAX_QUESTIONS_PER_SECTION", 40, minimum=1
)
QUESTIONNAIRE_MAX_QUESTIONS = env_int("QUESTIONNAIRE_MAX_QUESTIONS", 200, minimum=1)
QUESTIONNAIRE_MAX_OPTIONS_PER_QUESTION = env_int(
    "QUESTIONNAIRE_MAX_OPTIONS_PER_QUESTION", 10, minimum=2
)
QUESTIONNAIRE_MAX_TRIGGERS = env_int("QUESTIONNAIRE_MAX_TRIGGERS", 50, minimum=1)
# Problems listed at most, after which the page says there are more.
QUESTIONNAIRE_IMPORT_MAX_ERRORS = 100

# --- The council ------------------------------------------------------------------------------
COUNCIL_NAME = env_str("COUNCIL_NAME", "Demo Borough Council")
SERVICE_NAME = env_str("SERVICE_NAME", "Personal budgets")
# Printed on every letter; the address's lines are separated by "|".
COUNCIL_ADDRESS = [
    line.strip()
    for line in env_str(
        "COUNCIL_ADDRESS", "Adult Social Care|Civic Centre|High Street|Demotown|DT1 1AA"
    ).split("|")
    if line.strip()
]
COUNCIL_PHONE = env_str("COUNCIL_PHONE", "0300 123 4567")
COUNCIL_EMAIL = env_str("COUNCIL_EMAIL", "personal.budgets@demo-borough.example")
COUNCIL_LOGO = Path(env_str("COUNCIL_LOGO", str(BASE_DIR / "static" / "letters" / "logo.svg")))
if not COUNCIL_LOGO.is_file():
    raise ImproperlyConfigured(f"COUNCIL_LOGO must be an image file; {COUNCIL_LOGO} is not.")
# Processes that make PDFs in a batch of letters (default: one per core).
LETTER_PROCESSES = env_int("LETTER_PROCESSES", os.cpu_count() or 1, minimum=1)
LETTER_SIGNATORY_NAME = env_str("LETTER_SIGNATORY_NAME", "Alex Morgan")
LETTER_SIGNATORY_TITLE = env_str(
    "LETTER_SIGNATORY_TITLE", "Head of Personalisation, Adult Social Care"
)
# The full address letters give for the public rules page. Blank: this site's own /rules/ page
# (allocations.letters.rendering.rules_page_url builds it from SITE_URL, if set, or
# http://127.0.0.1:8000).
RULES_PAGE_URL = env_str("RULES_PAGE_URL", "")
if RULES_PAGE_URL and not RULES_PAGE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        "RULES_PAGE_URL must be a full address starting https:// (or http://); "
        f"got {RULES_PAGE_URL!r}."
    )

# --- E-mail -----------------------------------------------------------------------------------
# Staff are e-mailed when something waits for them (assessments/notifications.py): never
# personal data, only a link to this site's address. With no EMAIL_HOST (`make run`, a
# development machine) the e-mails are printed on the console instead of sent; the tests
# capture them (pytest-django's locmem backend).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if not SITE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"SITE_URL must start with http:// or https://; got {SITE_URL!r}.")
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"{SERVICE_NAME} <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# --- Two-step sign-in -------------------------------------------------------------------------
# After the password, anyone who has set up an authenticator app gives a 6-digit code (or a
# one-time recovery code) before the session counts as signed in (ras_site/two_factor/). When
# TWO_FACTOR_REQUIRED is on, someone without an app is sent to set one up and can reach nothing
# else until they have. On by default in production, off in development and `make run`.
TWO_FACTOR_REQUIRED = env_bool("TWO_FACTOR_REQUIRED", PRODUCTION)
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = f"{SERVICE_NAME} ({COUNCIL_NAME})"
# Keep secrets and recovery codes out of the admin pages.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Logging ------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
