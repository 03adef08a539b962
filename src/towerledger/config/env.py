"""Reading the environment for the settings: yes/no flags, the proxy's HTTPS header, and the
secret key kept in the data directory when SECRET_KEY is not set."""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

KEY_FILE = "secret_key"


def env_flag(name: str, default: bool) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off``; unset or empty means ``default``."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: 应为 1 或 0 / must be 1 or 0")


def proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """``"X-Forwarded-Proto: https"`` → Django's ``("HTTP_X_FORWARDED_PROTO", "https")``."""
    if not value.strip():
        return None
    name, sep, expected = value.partition(":")
    name, expected = name.strip(), expected.strip()
    if not sep or not name or not expected:
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={value!r}: 格式应为 “X-Forwarded-Proto: https” / "
            "expected the form 'X-Forwarded-Proto: https'")
    return "HTTP_" + name.upper().replace("-", "_"), expected


def persisted_key(data_dir: Path) -> str:
    """A random key made once per data directory and kept there, readable by its owner only.

    Several processes may start at once (test workers, web and worker): each writes its own
    candidate and links it into place; the first link wins and everyone reads the winner."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        candidate = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50))
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    key = path.read_text().strip()
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path}: 密钥文件无效，请删除后重启 / the key file is "
                                   "damaged; delete it and start again")
    return key
