"""Issue 17 through the web and the CLI: the 2 KB far-cell XLSX (it aborted the web process
that read it) and a zip bomb, uploaded by logged-in users to the import page, the
reconciliation page (an operator user) and as dispute evidence. Each answers with a clear
bilingual error naming the file, nothing is stored, and the next page loads — the server is
alive. The CLI refuses the far-cell file with a message and exit 1, not 134 (abort)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.integration.test_file_limits import far_cell_xlsx, zip_bomb_xlsx
from tests.integration.test_settlement import lines_of
from tests.web.test_pages import login
from tests.web.test_settlement_pages import paid  # noqa: F401  (fixture)
from towerledger.collection.models import ColumnMapping
from towerledger.exchange.models import ImportJob
from towerledger.settlement.models import Dispute


@pytest.fixture
def bad_files(tmp_path):
    return {"far.xlsx": far_cell_xlsx(tmp_path / "far.xlsx"),
            "bomb.xlsx": zip_bomb_xlsx(tmp_path / "bomb.xlsx", 210 * 2**20)}


FAR = ("far.xlsx", "A1:XFD1048576", "超出上限", "beyond the limit")
BOMB = ("bomb.xlsx", "200 MB", "压缩炸弹", "zip bomb")


def says(body: str, fragments) -> None:
    for fragment in fragments:
        assert fragment in body, (fragment, body[-3000:])


def alive(client) -> None:
    assert client.get(reverse("home"), follow=True).status_code == 200


def test_import_page_refuses_the_far_cell_file_and_the_bomb(users, bad_files, settings):
    settings.TOWERLEDGER_JOB_RUNNER = "sync"
    settings.DATA_DIR = bad_files["far.xlsx"].parent / "data"
    c = login(users["clerk_zz"])
    for name, fragments in (("far.xlsx", FAR), ("bomb.xlsx", BOMB)):
        with bad_files[name].open("rb") as f:
            r = c.post(reverse("imports"), {"kind": "sites", "file": f}, follow=True)
        assert r.status_code == 200
        job = ImportJob.objects.get(filename=name)
        assert job.status == ImportJob.Status.FAILED and job.created == job.updated == 0
        says(r.content.decode(), fragments)
        alive(c)


def test_reconciliation_refuses_them_for_an_operator_user(users, bad_files):
    c = login(users["cmcc"])
    for name, fragments in (("far.xlsx", FAR), ("bomb.xlsx", BOMB)):
        for url in ("reconcile", "reconcile_columns"):
            with bad_files[name].open("rb") as f:
                r = c.post(reverse(url), {"file": f})
            assert r.status_code in (200, 400), r.status_code
            says(r.content.decode(), fragments)
        alive(c)
    assert not ColumnMapping.objects.exists()


def test_reconciliation_upload_has_its_own_size_limit(users, tmp_path, settings):
    settings.RECONCILE_UPLOAD_MAX_BYTES = 1000
    path = tmp_path / "ledger.csv"
    path.write_text("明细编号,金额\n" + "L1,1.00\n" * 200, encoding="utf-8")
    with path.open("rb") as f:
        r = login(users["cmcc"]).post(reverse("reconcile"), {"file": f})
    assert r.status_code == 400
    says(r.content.decode(), ("文件超过", "ledger.csv", "larger than"))


def test_dispute_evidence_is_measured_like_an_import(paid, users, bad_files):  # noqa: F811
    line = lines_of(paid)["T-ZZ001-CTCC"]
    c = login(users["ctcc_zz"])
    url = reverse("line_dispute", args=[line.pk])
    for name, fragments in (("far.xlsx", FAR), ("bomb.xlsx", BOMB)):
        with bad_files[name].open("rb") as f:
            r = c.post(url, {"reason": "KWH", "comment": "x", "attachment": f}, follow=True)
        assert r.status_code == 200
        says(r.content.decode(), fragments)
        alive(c)
    long_field = io.BytesIO(("读数\n" + "9" * 200_000 + "\n").encode())
    long_field.name = "readings.csv"
    r = c.post(url, {"reason": "KWH", "attachment": long_field}, follow=True)
    says(r.content.decode(), ("readings.csv", "10,000"))
    assert not Dispute.objects.exists()
    # evidence in the allowed types goes through: a CSV of readings
    good = io.BytesIO("日期,读数\n2024-05-31,14200\n".encode())
    good.name = "readings.csv"
    r = c.post(url, {"reason": "KWH", "comment": "读数", "attachment": good}, follow=True)
    assert "已提出争议" in r.content.decode() and Dispute.objects.get().attachment


def test_a_body_larger_than_any_upload_is_turned_away_unread(users, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    settings.RECONCILE_UPLOAD_MAX_BYTES = settings.ATTACHMENT_MAX_BYTES = 1000
    c = login(users["clerk_zz"])
    r = c.generic("POST", reverse("imports"), b"--x--\r\n",
                  content_type="multipart/form-data; boundary=x",
                  CONTENT_LENGTH=str(50 * 2**30))
    assert r.status_code == 413
    says(r.content.decode(), ("超过上限", "larger than the limit"))
    alive(c)


def test_the_cli_refuses_the_far_cell_file_without_aborting(tmp_path):
    far = far_cell_xlsx(tmp_path / "far.xlsx")
    env = {**os.environ, "TOWERLEDGER_DATA": str(tmp_path / "data"), "TOWERLEDGER_DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    cli = str(Path(sys.executable).parent / "towerledger")
    subprocess.run([cli, "migrate"], env=env, capture_output=True, check=True, timeout=300)
    done = subprocess.run([cli, "import", "sites", str(far)], env=env, capture_output=True,
                          text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode not in (0, 134) and done.returncode > 0, (done.returncode, out)
    assert "A1:XFD1048576" in out and "far.xlsx" in out and "未导入" in out, out
