"""转改直 candidates, stored: the month close ranks them as of the month end (the same rule
as the live list, ``report.candidate_rows``), the page reads the stored ranking page by
page within the user's scope, and an estimate, a project submitted or done updates its
account's row at once."""

from datetime import date
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.integration.test_bills import MAY, import_bills
from tests.web.test_pages import login
from towerledger.bills.models import Bill
from towerledger.programs.conversion import report, services
from towerledger.programs.conversion.models import RankedCandidate, Ranking
from towerledger.programs.conversion.receivers import on_month_snapshots
from towerledger.sites.models import AccountSite, Site, SupplyAccount

D = Decimal
DAY = date(2024, 6, 5)
FIELDS = ("account_no", "yearly_kwh", "current_price", "direct_price", "cost", "cost_source",
          "figure")


def stored(ranking):
    return [tuple(getattr(r, f) for f in FIELDS)
            for r in report.ranked(None, ranking)]


def live(user=None, today=DAY):
    return [tuple(r[f] for f in FIELDS) for r in report.candidates(user, today=today)]


def many_accounts(n):
    site = Site.objects.get(site_code="LY001")
    accounts = SupplyAccount.objects.bulk_create([
        SupplyAccount(account_no=f"X-{i:03}", supply_mode="RESUPPLY", supplier_type="LANDLORD",
                      input_invoice_type="GENERAL") for i in range(n)])
    AccountSite.objects.bulk_create([AccountSite(account=a, site=site, split_ratio=100)
                                     for a in accounts])
    Bill.objects.bulk_create([Bill(account=a, bill_no="X", period_start=date(2024, 5, 1),
                                   period_end=date(2024, 5, 31), kwh=D(1000 + i),
                                   unit_price=D("1.30"), amount=D(1300))
                              for i, a in enumerate(accounts)])


def test_the_stored_ranking_is_the_live_one_and_follows_estimates_and_projects(
        province, users, tmp_path):
    assert import_bills(tmp_path, [MAY]).stored
    ranking = report.store_ranking(DAY)
    assert stored(ranking) == live() and ranking.accounts == 2
    a100 = stored(ranking)[0]
    assert a100[0] == "A-100" and a100[-1] == D("-7110.97") and a100[-2] == "default"
    account = SupplyAccount.objects.get(account_no="A-100")
    services.set_estimate(users["clerk_zz"], account, D("20000"), reason="现场勘察")
    assert stored(ranking)[0][-2:] == ("estimate", D("2889.03")) and stored(ranking) == live()
    p = services.submit(users["clerk_zz"], account, reason="高价转供", submitted_on=DAY,
                        estimated_cost=D("15000"))
    assert stored(ranking)[0][-2:] == ("project", D("7889.03"))
    for step, on in (("approve", date(2024, 6, 10)), ("build", date(2024, 6, 20)),
                     ("complete", date(2024, 6, 30))):
        services.advance(users["clerk_zz"], p, step, reason="按计划", on=on)
    assert [r[0] for r in stored(ranking)] == ["A-300"]          # A-100 is direct now
    assert Ranking.objects.get(pk=ranking.pk).accounts == 1


def test_the_close_stores_the_month_and_the_page_reads_it_page_by_page(province, users,
                                                                      tmp_path):
    assert import_bills(tmp_path, [MAY]).stored
    many_accounts(60)
    reply = on_month_snapshots(month=date(2024, 6, 1))
    assert reply["candidates"] == 62
    ranking = report.latest_ranking()
    assert ranking.as_of == date(2024, 6, 30)
    assert stored(ranking) == live(today=date(2024, 6, 30))
    on_month_snapshots(month=date(2024, 6, 1))                 # again: replaced, not doubled
    assert RankedCandidate.objects.count() == 62 and Ranking.objects.count() == 1
    c = login(users["admin"])
    body = c.get(reverse("conversion")).content.decode()
    assert 'id="ranking-as-of">2024-06-30' in body and 'id="candidate-count">62' in body
    assert body.count("data-account=") == 50
    body = c.get(reverse("conversion"), {"page": 2}).content.decode()
    assert body.count("data-account=") == 12
    # the clerk of 郑州 sees A-100 only; 洛阳's the rest, ranked among themselves
    body = login(users["clerk_zz"]).get(reverse("conversion")).content.decode()
    assert 'id="candidate-count">1<' in body and 'data-account="A-100"' in body
    body = login(users["clerk_ly"]).get(reverse("conversion")).content.decode()
    assert 'id="candidate-count">61<' in body and 'data-account="A-100"' not in body
    # the page's queries do not grow with the accounts
    with CaptureQueriesContext(connection) as before:
        c.get(reverse("conversion"))
    many_accounts_more = 30
    site = Site.objects.get(site_code="LY001")
    extra = SupplyAccount.objects.bulk_create([
        SupplyAccount(account_no=f"Y-{i}", supply_mode="RESUPPLY", supplier_type="LANDLORD",
                      input_invoice_type="GENERAL") for i in range(many_accounts_more)])
    AccountSite.objects.bulk_create([AccountSite(account=a, site=site, split_ratio=100)
                                     for a in extra])
    report.store_ranking(date(2024, 6, 30))
    with CaptureQueriesContext(connection) as after:
        body = c.get(reverse("conversion")).content.decode()
    assert 'id="candidate-count">92' in body
    assert len(after.captured_queries) == len(before.captured_queries)
    # a province admin ranks again as of today
    assert c.post(reverse("conversion_rank")).status_code == 302
    assert report.latest_ranking().as_of > date(2024, 6, 30) and Ranking.objects.count() == 2
    assert login(users["clerk_zz"]).post(reverse("conversion_rank")).status_code == 404
