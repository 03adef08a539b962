"""An operator user's county drill-down (issue 16): a county on the dashboard or the KPI
table leads to their own lines by site in that county (the "My sites" report), never to a
404; the staff's site report link, followed by an operator user, lands there too."""

from urllib.parse import parse_qs, urlencode, urlsplit

from django.urls import reverse

from tests.integration.test_analysis import may_paid  # noqa: F401 — fixture
from tests.web.test_dashboard_pages import closed, get  # noqa: F401 — fixture
from tests.web.test_pages import login
from towerledger.org.models import County
from towerledger.settlement.models import Line


def own_sites(county):
    return sorted(set(Line.objects.filter(operator__code="CMCC", site__county=county)
                      .exclude(status__in=["TOWER", "SUPERSEDED"])
                      .values_list("site__site_code", flat=True)))


def test_an_operator_drills_down_to_its_own_sites_in_a_county(closed, users):  # noqa: F811
    cmcc = login(users["cmcc"])
    r = get(cmcc, reverse("dashboard") + "?month=2024-05&city=郑州市")
    urls = [row["url"] for row in r.context["table"]]
    assert urls and all(u.startswith(reverse("report", args=["mysites"])) for u in urls)
    kpi = get(cmcc, reverse("report", args=["kpi"]) + "?month=2024-05&city=郑州市")
    county_urls = [row["url"] for row in kpi.context["rows"] if "county=" in row["url"]]
    assert county_urls and set(county_urls) <= set(urls)
    checked = 0
    for url in urls:
        county_name = parse_qs(urlsplit(url).query)["county"][0]
        county = County.objects.get(city__name="郑州市", name=county_name)
        rows = get(cmcc, url).context["rows"]
        assert [row["name"] for row in rows] == own_sites(county), county_name
        checked += bool(rows)
    assert checked, "no county with CMCC's lines: the test would prove nothing"


def test_the_staff_site_report_link_takes_an_operator_to_its_own(closed, users):  # noqa: F811
    county = County.objects.filter(city__name="郑州市").exclude(
        sites__isnull=True).order_by("name").first()
    query = "?" + urlencode({"month": "2024-05", "city": "郑州市", "county": county.name})
    r = login(users["cmcc"]).get(reverse("report", args=["sites"]) + query)
    assert r.status_code == 302
    assert r.headers["Location"] == reverse("report", args=["mysites"]) + query
    # other roles without the staff report still get the product's 404
    assert login(users["admin"]).get(reverse("report", args=["mysites"]) + query) \
        .status_code == 404
