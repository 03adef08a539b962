"""Settings: plain data, read from the environment.

TOWERLEDGER_DATA   directory for the embedded database, uploads and reports (default ./data)
DATABASE_URL       sqlite:///… or postgres://…; unset means the embedded SQLite file
SECRET_KEY         required with a server database outside development (see config/env.py)
TOWERLEDGER_DEBUG  1: development mode (the tests, `towerledger serve`); unset or 0: production
TOWERLEDGER_DEMO   1: the demo (`towerledger demo`): production pages (DEBUG off, the product's
                   own error pages) served over plain HTTP on this machine
The HTTPS, cookie and proxy settings are listed in docs/production.md.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from towerledger.config.database import database_from_url
from towerledger.config.env import env_flag, persisted_key, proxy_ssl_header

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("TOWERLEDGER_DATA", Path.cwd() / "data")).resolve()

# Production unless development is asked for: `towerledger demo` and the test settings
# (config/development.py) ask for it; a server started with nothing set is not in debug mode.
DEBUG = env_flag("TOWERLEDGER_DEBUG", env_flag("DJANGO_DEBUG", False))
# The demo shows what users will see (DEBUG off), but on a laptop: no HTTPS, static files
# from the package (WhiteNoise's finders), imports in a thread, a key kept in the data dir.
DEMO = env_flag("TOWERLEDGER_DEMO", False)
LOCAL = DEBUG or DEMO
# No fixed key exists anywhere. Without SECRET_KEY, development and the embedded SQLite file
# use a random key made once and kept (0600) in the data directory beside the database it
# signs sessions for; a production server database without SECRET_KEY refuses to start.
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not (LOCAL or os.environ.get("DATABASE_URL", "sqlite:").startswith("sqlite:")):
        raise ImproperlyConfigured(
            "未设置 SECRET_KEY，生产模式拒绝启动；开发或演示请设 TOWERLEDGER_DEBUG=1 / "
            "SECRET_KEY is not set, so production mode refuses to start; set SECRET_KEY "
            "(see docs/production.md), or TOWERLEDGER_DEBUG=1 for development.")
    SECRET_KEY = persisted_key(DATA_DIR)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "towerledger.org",
    "towerledger.sites",
    "towerledger.access",
    "towerledger.ledger",
    "towerledger.bills",
    "towerledger.settlement",
    "towerledger.collection",
    "towerledger.analysis",
    "towerledger.meters",
    "towerledger.programs.theft",
    "towerledger.programs.conversion",
    "towerledger.programs.trading",
    "towerledger.programs.rent",
    "towerledger.programs.decommission",
    "towerledger.programs.quality",
    "towerledger.programs.generator",
    "towerledger.programs.accruals",
    "towerledger.programs.history",
    "towerledger.exchange",
    "towerledger.web",
    "towerledger.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "towerledger.web.security.ContentSecurityPolicyMiddleware",   # CSP on every response
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "towerledger.web.uploads.RequestSizeLimitMiddleware",        # 413 before a huge body
    "django.contrib.sessions.middleware.SessionMiddleware",
    "towerledger.web.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "towerledger.web.auth.PasswordChangeRequired",   # a password chosen by another, first
    "django.contrib.messages.middleware.MessageMiddleware",
    "towerledger.web.params.QueryGuard",   # a malformed query parameter is a bilingual 400
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "towerledger.config.urls"
WSGI_APPLICATION = "towerledger.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "towerledger.web.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        os.environ.get("DATABASE_URL"), DATA_DIR / "towerledger.sqlite3"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ModelBackend that first turns a throttled account or address away, before any password is
# checked: /login/, /admin/login/ and every other authenticate() alike (access/throttle.py).
AUTHENTICATION_BACKENDS = ["towerledger.access.throttle.ThrottledModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Throttle: this many failed logins against one account lock it (for everybody); this many
# from one client address lock that address (an office behind one NAT shares an address)
LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "20"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", DATA_DIR / "static"))
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = LOCAL

# Uploads: bounded in size per kind; the type is checked by content (magic bytes), not only
# by extension; a request body larger than the largest kind is refused (413) before it is read.
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(50 * 1024 * 1024)))  # imports
RECONCILE_UPLOAD_MAX_BYTES = int(os.environ.get("RECONCILE_UPLOAD_MAX_BYTES", str(20 * 2**20)))
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(5 * 2**20)))  # disputes
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# What a file may make the reader allocate (importers/limits.py; docs/import-formats.md)
IMPORT_MAX_FILE_BYTES = int(os.environ.get("IMPORT_MAX_FILE_BYTES", str(512 * 2**20)))
IMPORT_MAX_UNZIPPED_BYTES = int(os.environ.get("IMPORT_MAX_UNZIPPED_BYTES", str(200 * 2**20)))
IMPORT_MAX_ZIP_ENTRIES = int(os.environ.get("IMPORT_MAX_ZIP_ENTRIES", "10000"))
IMPORT_MAX_ZIP_RATIO = int(os.environ.get("IMPORT_MAX_ZIP_RATIO", "100"))
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "5000000"))
IMPORT_MAX_COLUMNS = int(os.environ.get("IMPORT_MAX_COLUMNS", "200"))
IMPORT_MAX_SHEET_CELLS = int(os.environ.get("IMPORT_MAX_SHEET_CELLS", "10000000"))
IMPORT_MAX_FIELD_CHARS = int(os.environ.get("IMPORT_MAX_FIELD_CHARS", "10000"))

# How web imports run: "task" (the worker, production), "thread" (the web process: demo and
# development server), "sync" (tests). See towerledger/web/jobs.py.
TOWERLEDGER_JOB_RUNNER = os.environ.get("TOWERLEDGER_JOB_RUNNER", "thread" if LOCAL else "task")
TOWERLEDGER_ALLOCATE_ON_PAY = os.environ.get("TOWERLEDGER_ALLOCATE_ON_PAY", "1") != "0"  # T+0
# processes for the bulk stages run outside a request on PostgreSQL (db.parallel); 0: CPUs
TOWERLEDGER_WORKERS = int(os.environ.get("TOWERLEDGER_WORKERS", "0") or 0)
# receipts are matched as they are imported; 0: they wait for `towerledger match`
TOWERLEDGER_MATCH_ON_IMPORT = os.environ.get("TOWERLEDGER_MATCH_ON_IMPORT", "1") != "0"
# downloads are streamed and leave nothing; files kept for later (the reconciliation's
# result) are deleted after this many hours (exchange/export.py)
TOWERLEDGER_EXPORT_RETENTION_HOURS = float(
    os.environ.get("TOWERLEDGER_EXPORT_RETENTION_HOURS", "24"))

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# HTTPS in production (each can be set from the environment; docs/production.md).
# SecurityMiddleware sends HSTS only on HTTPS responses; behind a TLS-terminating proxy,
# SECURE_PROXY_SSL_HEADER ("X-Forwarded-Proto: https") says which requests came over HTTPS.
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(os.environ.get("SECURE_PROXY_SSL_HEADER", ""))
SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", not LOCAL)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if LOCAL else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", not LOCAL)
SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_flag("SESSION_COOKIE_SECURE", not LOCAL)
CSRF_COOKIE_SECURE = env_flag("CSRF_COOKIE_SECURE", not LOCAL)
# a form sent without its token gets the product's 403 page, saying to reload (web/errors.py)
CSRF_FAILURE_VIEW = "towerledger.web.errors.csrf_failure"
# The client address for login throttling: REMOTE_ADDR, or behind the reverse proxy the
# address the proxy saw, read from TOWERLEDGER_CLIENT_IP_HEADER (e.g. X-Forwarded-For) as
# the entry TOWERLEDGER_TRUSTED_PROXIES from the right (access/throttle.py).
TOWERLEDGER_CLIENT_IP_HEADER = os.environ.get("TOWERLEDGER_CLIENT_IP_HEADER", "").strip()
TOWERLEDGER_TRUSTED_PROXIES = int(os.environ.get("TOWERLEDGER_TRUSTED_PROXIES", "1"))
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
