"""DATABASE_URL → Django's DATABASES entry: PostgreSQL connections run without JIT unless
the URL says otherwise; SQLite keeps WAL and immediate transactions."""

from pathlib import Path

from towerledger.config.database import database_from_url


def test_postgres_connections_turn_jit_off_unless_the_url_sets_options():
    db = database_from_url("postgres://u:p%40ss@db.example:6432/ledger", Path("/tmp/x.db"))
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "ledger", "u", "p@ss", "db.example", "6432")
    assert db["OPTIONS"]["options"] == "-c jit=off"
    own = database_from_url("postgres://db/ledger?options=-c%20work_mem%3D64MB&sslmode=require",
                            Path("/tmp/x.db"))
    assert own["OPTIONS"] == {"options": "-c work_mem=64MB", "sslmode": "require"}


def test_sqlite_url_and_default(tmp_path):
    db = database_from_url(f"sqlite:///{tmp_path}/a.db", tmp_path / "default.db")
    assert db["ENGINE"] == "django.db.backends.sqlite3" and db["NAME"] == f"{tmp_path}/a.db"
    assert database_from_url(None, tmp_path / "d.db")["NAME"] == str(tmp_path / "d.db")
