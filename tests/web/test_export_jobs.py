"""Large downloads run as background jobs (issue 16): the page shows progress and offers the
file when ready; the file holds exactly what the direct download holds, in the same user's
scope, and stays that user's."""

import time

from django.test import override_settings
from django.urls import reverse

from tests.web.test_exports_scope import cells, client_for, data, foreign  # noqa: F401
from towerledger.exchange.models import ExportJob


def run_job(client, what, query=""):
    """Start a download job as a page's button does, poll its page until it is ready, and
    fetch the file."""
    start = client.get(reverse("export_start", args=[what]) + query)
    assert start.status_code == 302, start.status_code
    page = client.get(start.url).content.decode()
    assert 'hx-trigger="every 1s"' in page or "export-file" in page
    job = ExportJob.objects.order_by("-pk").first()
    for _ in range(300):
        part = client.get(start.url + "?partial=1").content.decode()
        if 'id="export-file"' in part or "block-text" in part:
            break
        time.sleep(0.1)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, (job.status, job.message)
    assert 'id="hx-' not in part and "<script" not in part        # polling by htmx only
    href = reverse("export_file", args=[job.pk])
    assert f'href="{href}"' in part
    return job, client.get(href)


@override_settings(TOWERLEDGER_JOB_RUNNER="sync")  # a thread cannot see the test transaction
def test_an_operator_exports_its_lines_in_the_background_and_gets_only_its_rows(data):  # noqa: F811
    user = data["cmcc"]
    client = client_for(user)
    job, response = run_job(client, "lines", "?tab=history")
    assert response.status_code == 200 and job.filename == "lines-history.xlsx"
    got = cells(response)
    direct = cells(client.get(reverse("lines_export") + "?tab=history"))
    assert got == direct and len(got) > 1
    assert job.done == job.total == len(got) - 1
    words = foreign(user)
    assert not [(v, w) for row in got for v in row for w in words if w in v]
    # the kind's export as a job: the same rows as the direct download
    job, response = run_job(client, "allocations", "?format=xlsx")
    assert cells(response) == cells(client.get(reverse("export", args=["allocations"])
                                               + "?format=xlsx"))
    # another operator, and the province admin, cannot fetch this operator's file
    for other in (data["ctcc_zz"], data["admin"]):
        assert client_for(other).get(reverse("export_file", args=[job.pk])).status_code == 404
        assert client_for(other).get(reverse("export_job", args=[job.pk])).status_code == 404


@override_settings(TOWERLEDGER_JOB_RUNNER="sync")
def test_staff_only_kinds_are_refused_to_an_operator_and_a_staff_bills_job_works(data):  # noqa: F811
    operator = client_for(data["cmcc"])
    assert operator.get(reverse("export_start", args=["bills"])).status_code == 404
    assert operator.get(reverse("export_start", args=["nonsense"])).status_code == 404
    admin = client_for(data["admin"])
    job, response = run_job(admin, "bills", "?format=xlsx")
    assert cells(response) == cells(admin.get(reverse("export", args=["bills"]) + "?format=xlsx"))
