"""The import result page says what happened (issue 16): a refused file reads refused, never
done; a bill upload lists the bills a finding holds, with why and a link to each; a receipt
import says how each receipt was matched, with a summary and a downloadable list."""

import csv
import io

from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from tests.helpers import write_csv
from tests.integration.test_bills import BILL_HEADER
from tests.integration.test_collection import RECEIPT_HEADER, confirmed, month  # noqa: F401
from tests.web.test_pages import login
from towerledger.bills.models import Bill
from towerledger.collection import services
from towerledger.exchange.models import ImportJob

DEAR = ["B-DEAR", "A-100", "2024-05-01", "2024-05-31", "10000", "14320", "1", "", "4320",
        "1.80", "7776.00", "", "GENERAL", "2024-06-02", "PAY-DEAR"]
FINE = ["B-FINE", "A-100", "2024-06-01", "2024-06-30", "14320", "18500", "1", "", "4180",
        "1.10", "4598.00", "", "GENERAL", "", ""]


def upload(client, kind, path):
    with path.open("rb") as f:
        r = client.post(reverse("imports"), {"kind": kind, "file": f})
    assert r.status_code == 302, r.content[:500]
    job = ImportJob.objects.order_by("-pk").first()
    return job, client.get(r.url).content.decode()


@override_settings(TOWERLEDGER_JOB_RUNNER="sync")
def test_a_refused_file_reads_refused_never_done(users, tmp_path):
    clerk = login(users["clerk_zz"])
    bad = [["B-X", "NO-SUCH", "2024-05-01", "2024-05-31", "", "", "", "", "10", "1", "10", ""]]
    job, page = upload(clerk, "bills", write_csv(tmp_path / "bad.csv", BILL_HEADER, bad))
    assert job.status == ImportJob.Status.FAILED and job.stage == "refused"
    status = page.split('id="job-status">')[1].split("<")[0]
    assert status == "已拒绝", status
    assert "done" not in page.split('id="job"')[1].split("</p>")[0]
    assert "未导入：没有写入任何数据" in page and "NO-SUCH" in page
    listing = clerk.get(reverse("imports")).content.decode()
    row = listing.split("bad.csv")[1].split("</tr>")[0]
    assert "已拒绝" in row and "完成" not in row


@override_settings(TOWERLEDGER_JOB_RUNNER="sync")
def test_a_bill_upload_lists_the_bills_held_by_a_finding_with_links(users, tmp_path):
    clerk = login(users["clerk_zz"])
    job, page = upload(clerk, "bills", write_csv(tmp_path / "b.csv", BILL_HEADER, [DEAR, FINE]))
    assert job.status == ImportJob.Status.DONE and job.stage == "done"
    held = Bill.objects.get(bill_no="B-DEAR")
    assert [b["bill_no"] for b in job.outcome["held"]] == ["B-DEAR"]
    assert "1 张缴费单被拦截类稽核结果暂停" in page
    section = page.split('id="held"')[1]
    assert f'href="{reverse("bill", args=[held.pk])}"' in section and "A-100 / B-DEAR" in section
    assert "BLOCK" in section.split("</table>")[0]
    assert held.flags.get(code="PRICE_CAP").message_zh in section
    assert "B-FINE" not in section.split("</table>")[0]
    english = login(users["clerk_zz"])
    english.cookies.load({"django_language": "en"})
    body = english.get(reverse("import_job", args=[job.pk]),
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 bill held by a blocking finding" in body
    assert held.flags.get(code="PRICE_CAP").message_en in body


@override_settings(TOWERLEDGER_JOB_RUNNER="sync")
def test_a_receipt_import_says_how_each_receipt_was_matched(confirmed, users, tmp_path):  # noqa: F811
    issued = {s.operator.code: s for s in services.issue_statements(month(), users["admin"])}
    cmcc = issued["CMCC"]
    today = timezone.localdate().isoformat()
    rows = [["R-REF", "CMCC", "郑州市", "10.00", today, f"付 {cmcc.number}"],
            ["R-NONE", "CBN", "郑州市", "5.00", today, ""]]
    clerk = login(users["clerk_zz"])
    job, page = upload(clerk, "receipts", write_csv(tmp_path / "r.csv", RECEIPT_HEADER, rows))
    assert job.status == ImportJob.Status.DONE, job.errors
    assert job.outcome["receipts"] == {"REFERENCE": 1, "UNMATCHED": 1}
    section = page.split('id="matches"')[1]
    assert "回款核销方式" in page and "按参考号" in section and "未匹配" in section
    download = clerk.get(reverse("import_matches", args=[job.pk]))
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    found = {r["receipt_no"]: r for r in csv.DictReader(io.StringIO(text))}
    assert found["R-REF"]["matched_by"].startswith("REFERENCE")
    assert found["R-NONE"]["matched_by"].startswith("UNMATCHED")
    assert found["R-NONE"]["unapplied"] == "5.00"
    # another clerk's job and its list stay theirs
    other = login(users["clerk_ly"])
    assert other.get(reverse("import_matches", args=[job.pk])).status_code == 404


def test_the_cli_import_says_which_bills_are_held_and_why(province, tmp_path):
    from typer.testing import CliRunner

    from towerledger.cli import app

    path = write_csv(tmp_path / "b.csv", BILL_HEADER, [DEAR, FINE])
    out = CliRunner().invoke(app, ["import", "bills", str(path)], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "1 张缴费单被拦截暂停" in out.output and "A-100/B-DEAR: PRICE_CAP" in out.output
    assert "B-FINE" not in out.output
