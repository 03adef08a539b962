"""油机发电 list and analysis pages: with no month asked for it opens on the latest month (up to the
current one) with runs or outages in the user's scope, not on an empty current month."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.helpers import write_csv
from tests.integration.test_generator import OUTAGE_HEADER, set_up
from towerledger.exchange.services import run_import

pytestmark = pytest.mark.django_db

LATER = [["O-2409-01", "LY001", "2024-09-03 10:00", "2024-09-03 12:00", "线路检修"],
         # a mistyped year in the future: never where the page opens
         ["O-2099-01", "ZZ001", "2099-01-05 10:00", "2099-01-05 12:00", "录入错误"]]


def opened(client, user, query="", page="generator"):
    client.force_login(user)
    r = client.get(reverse(page) + query)
    assert r.status_code == 200
    return r.context["month"].strftime("%Y-%m"), r.content.decode()


def test_opens_on_the_latest_month_with_runs_or_outages_in_scope(users, tmp_path, client):
    runs = set_up(tmp_path)                          # July 2024: outages in both cities
    assert run_import("generator_runs", runs, users["clerk_zz"]).stored
    assert run_import("outages", write_csv(tmp_path / "later.csv", OUTAGE_HEADER, LATER)).stored
    month, page = opened(client, users["clerk_zz"])      # Zhengzhou: runs in July only
    assert month == "2024-07" and "R-2407-01" in page and 'id="latest-month"' in page
    month, page = opened(client, users["clerk_ly"])      # Luoyang: an outage in September
    assert month == "2024-09" and "O-2409-01" in page and "R-2407-01" not in page
    assert opened(client, users["admin"])[0] == "2024-09"
    # a month asked for is the month shown, even an empty one
    month, page = opened(client, users["clerk_zz"], "?month=2024-08")
    assert month == "2024-08" and 'id="latest-month"' not in page


def test_with_nothing_in_scope_it_opens_on_the_current_month(users, tmp_path, client):
    assert run_import("outages", write_csv(tmp_path / "later.csv", OUTAGE_HEADER, LATER)).stored
    assert opened(client, users["clerk_ly"])[0] == "2024-09"
    month, page = opened(client, users["clerk_zz"])
    assert month == timezone.localdate().strftime("%Y-%m") and 'id="latest-month"' not in page


def test_the_analysis_opens_on_the_latest_month_too(users, tmp_path, client):
    runs = set_up(tmp_path)
    assert run_import("generator_runs", runs, users["clerk_zz"]).stored
    month, page = opened(client, users["clerk_zz"], page="generator_analysis")
    assert month == "2024-07" and 'id="latest-month"' in page and "<tr><td>郑州市</td>" in page
    month, page = opened(client, users["clerk_zz"], "?month=2024-08", page="generator_analysis")
    assert month == "2024-08" and 'id="latest-month"' not in page
