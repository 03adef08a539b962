"""Settings: plain data, read from the environment.

TOWERLEDGER_DATA   directory for the embedded database, uploads and reports (default ./data)
DATABASE_URL       sqlite:///… or postgres://…; unset means the embedded SQLite file
SECRET_KEY         required in production (TOWERLEDGER_DEBUG unset)
"""

import os
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from towerledger.config.database import database_from_url

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("TOWERLEDGER_DATA", Path.cwd() / "data")).resolve()

DEBUG = os.environ.get("TOWERLEDGER_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "dev-only-insecure-key-change-me" if DEBUG else None
)
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when TOWERLEDGER_DEBUG=0")
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
    "towerledger.exchange",
    "towerledger.web",
    "towerledger.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "towerledger.web.security.ContentSecurityPolicyMiddleware",   # CSP on every response
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "towerledger.web.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Throttle: this many failed logins per username (or per client address) within the window
LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
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
WHITENOISE_USE_FINDERS = DEBUG

# Uploads: bounded in size; the import view checks type by extension and content.
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(50 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# How web imports run: "task" (the worker, production), "thread" (the web process: demo and
# development server), "sync" (tests). See towerledger/web/jobs.py.
TOWERLEDGER_JOB_RUNNER = os.environ.get("TOWERLEDGER_JOB_RUNNER", "thread" if DEBUG else "task")
TOWERLEDGER_ALLOCATE_ON_PAY = os.environ.get("TOWERLEDGER_ALLOCATE_ON_PAY", "1") != "0"  # T+0
# receipts are matched as they are imported; 0: they wait for `towerledger match`
TOWERLEDGER_MATCH_ON_IMPORT = os.environ.get("TOWERLEDGER_MATCH_ON_IMPORT", "1") != "0"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
