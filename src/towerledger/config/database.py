"""Turn DATABASE_URL into Django's DATABASES entry (sqlite:///path or postgres://…)."""

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit


def database_from_url(url: str | None, default_sqlite: Path) -> dict:
    if not url:
        return _sqlite(str(default_sqlite))
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/or/absolute (three slashes + path), sqlite:///:memory:
        path = unquote(url.split("sqlite://", 1)[1]).lstrip("/") if parts.path else ""
        if url.startswith("sqlite:////"):
            path = "/" + path
        return _sqlite(path or ":memory:")
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        options = dict(parse_qsl(parts.query))
        # JIT compiling a statement costs up to a second and pays only on long analytical
        # scans; the bulk stages' statements (and the rollup triggers they fire) are costed
        # above its threshold and ran twice as long with it. A URL's own ?options= wins.
        options.setdefault("options", "-c jit=off")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "OPTIONS": options,
            # TOWERLEDGER_TEST_DB lets parallel test runs use separate test databases
            "TEST": {"NAME": os.environ.get("TOWERLEDGER_TEST_DB")
                     or "test_" + (unquote(parts.path.lstrip("/")) or "postgres")},
        }
    raise ValueError(f"Unsupported DATABASE_URL scheme: {parts.scheme!r}")


def _sqlite(path: str) -> dict:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # WAL lets the page read while an import writes; IMMEDIATE avoids upgrade deadlocks.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
