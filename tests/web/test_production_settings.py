"""Production defaults (issue 17): `towerledger django check --deploy` is clean with the
environment docs/production.md documents, and production without SECRET_KEY refuses to
start. Each run is a fresh process with only the variables given (nothing inherited)."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOWERLEDGER = Path(sys.executable).parent / "towerledger"


def documented_environment() -> dict[str, str]:
    """The `export NAME=value` lines of the first shell block of docs/production.md."""
    text = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    block = text.split("```sh", 1)[1].split("```", 1)[0]
    env = {}
    for name, value in re.findall(r"^export (\w+)=(.*?)(?:\s+#.*)?$", block, re.M):
        value = value.strip()
        if value.startswith("$("):  # the key generated in the shell
            value = secrets.token_urlsafe(50)
        env[name] = value.strip('"')
    return env


def run(env: dict, *args, tmp_path) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
            "TOWERLEDGER_DATA": str(tmp_path / "data")}
    return subprocess.run([str(TOWERLEDGER), *args], env={**base, **env}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_the_documented_production_environment_passes_check_deploy(tmp_path):
    env = documented_environment()
    assert {"SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "SECURE_PROXY_SSL_HEADER",
            "TOWERLEDGER_CLIENT_IP_HEADER"} <= env.keys()
    assert env["TOWERLEDGER_DATA"]
    env["TOWERLEDGER_DATA"] = str(tmp_path / "data")  # not /var/lib on the test machine
    done = run(env, "django", "check", "--deploy", "--fail-level", "DEBUG", tmp_path=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "System check identified no issues" in out, out
    assert not (tmp_path / "data" / "secret_key").exists()  # the given key, no other


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    env = documented_environment()
    del env["SECRET_KEY"]
    env["TOWERLEDGER_DATA"] = str(tmp_path / "data")
    done = run(env, "django", "check", tmp_path=tmp_path)
    assert done.returncode == 2
    said = " ".join((done.stdout + done.stderr).split())
    assert "SECRET_KEY is not set, so production mode refuses to start" in said
    assert "未设置 SECRET_KEY" in said and "Traceback" not in said
    # the WSGI entry point (gunicorn) refuses too, naming the reason
    wsgi = subprocess.run([sys.executable, "-c", "import towerledger.config.wsgi"],
                          env={"PATH": os.environ.get("PATH", ""), **env}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert wsgi.returncode != 0 and "ImproperlyConfigured" in wsgi.stderr
    assert "SECRET_KEY is not set" in wsgi.stderr


def test_nothing_set_is_production_mode_with_its_own_key_for_the_embedded_file(tmp_path):
    show = ("from django.conf import settings as s; "
            "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
            "s.SECURE_HSTS_SECONDS, len(s.SECRET_KEY))")
    done = run({}, "django", "shell", "-c", show, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split() == ["False", "True", "True", "31536000", "67"]
    key = tmp_path / "data" / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600
    again = run({}, "django", "shell", "-c", "from django.conf import settings as s; "
                "print(s.SECRET_KEY)", tmp_path=tmp_path)
    assert again.stdout.splitlines()[-1] == key.read_text().strip()  # kept, not made anew
    # development mode is asked for explicitly
    dev = run({"TOWERLEDGER_DEBUG": "1"}, "django", "shell", "-c", show, tmp_path=tmp_path)
    assert dev.stdout.splitlines()[-1].split()[:3] == ["True", "False", "False"]
