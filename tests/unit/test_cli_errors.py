"""Every CLI mistake ends in one bilingual line and a non-zero exit, never a traceback
(issue 16): the command is run for real, in a subprocess, on a scratch data directory."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TOWERLEDGER = Path(sys.executable).parent / "towerledger"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def run(data: Path, *args) -> subprocess.CompletedProcess:
    # the embedded SQLite file in ``data``, whatever database the tests use
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(data), "TOWERLEDGER_DATA": str(data),
           "TOWERLEDGER_DEBUG": "1", "COLUMNS": "100"}
    return subprocess.run([str(TOWERLEDGER), *args], env=env, cwd=data, capture_output=True,
                          text=True, timeout=300)


def assert_one_bilingual_line(done: subprocess.CompletedProcess, *words: str):
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    assert "Traceback" not in said and "╭" not in said, said
    # the error is on standard error (an export to standard output may have begun its header)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, said
    assert CHINESE.search(lines[0]) and re.search(r"[A-Za-z]{4,}", lines[0]), said
    assert " / " in lines[0], said
    for word in words:
        assert word in lines[0], said


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli")
    done = run(data, "migrate")
    assert done.returncode == 0, done.stdout + done.stderr
    return data


MISTAKES = [
    (("ageing", "--by", "province"), ("--by", "province")),
    (("export", "bill"), ("bill",)),
    (("export", "sites", "--format", "pdf"), ("--format", "pdf")),
    (("audit", "--month", "May"), ("--month", "YYYY-MM")),
    (("deadlines", "--date", "tomorrow"), ("--date", "YYYY-MM-DD")),
    (("pay", "A-1/B-1", "--date", "30/11/2026"), ("--date", "30/11/2026")),
    (("close", "2026-11", "--as-of", "30/11"), ("--as-of", "30/11")),
    (("close", "May"), ("YYYY-MM",)),
    (("statements", "--month", "2026-13"), ("YYYY-MM",)),
    (("allocate", "--month", "11/2026"), ("YYYY-MM",)),
    (("pay", "A-1/B-1", "--date", "2026-02-30"), ("2026-02-30",)),
]


@pytest.mark.parametrize("args,words", MISTAKES, ids=[" ".join(a) for a, _ in MISTAKES])
def test_a_mistake_is_one_bilingual_line(migrated, args, words):
    assert_one_bilingual_line(run(migrated, *args), *words)


@pytest.mark.parametrize("args", [("ageing",), ("audit",), ("check",), ("deadlines",),
                                  ("export", "sites"), ("report", "kpi", "--month", "2026-11")])
def test_a_database_not_migrated_says_to_migrate(tmp_path, args):
    done = run(tmp_path, *args)
    assert_one_bilingual_line(done, "towerledger migrate")


def test_good_arguments_still_work(migrated):
    done = run(migrated, "ageing", "--by", "city")
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(migrated, "deadlines", "--date", "2026-11-30")
    assert done.returncode == 0, done.stdout + done.stderr
