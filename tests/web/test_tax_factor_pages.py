"""The tax-factor table page (issue 12): every row and its history with filters, a province
admin adds dated rows and withdraws rows not yet in force (audited); a clerk, a viewer and an
operator user read within their scope and cannot write."""

from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from tests.web.test_pages import login
from towerledger.access.models import AuditEntry
from towerledger.org.models import Operator, Province
from towerledger.sites.models import SupplyAccount, TaxFactorRate
from towerledger.sites.tax_factors import add_rate

D = Decimal


def rows_of(page: str) -> int:
    return page.count('<tr data-row="')


def seed(users):
    admin, henan = users["admin"], Province.objects.get(name="河南省")
    add_rate(admin, effective_from=date(2024, 1, 1), factor=D("0.12"), province=henan,
             invoice_type="GENERAL", reason="文件一")
    add_rate(admin, effective_from=date(2024, 6, 1), factor=D("0.11"), province=henan,
             invoice_type="GENERAL", reason="文件二")
    add_rate(admin, effective_from=date(2024, 1, 1), factor=D("0"),
             operator=Operator.objects.get(code="CTCC"), note="电信拒付", reason="协议")
    add_rate(admin, effective_from=date(2024, 1, 1), factor=D("0.05"),
             account=SupplyAccount.objects.get(account_no="A-100"), note="房东专票特价",
             reason="房东专票")


def test_the_page_shows_each_row_and_its_history(users):
    seed(users)
    c = login(users["admin"])
    page = c.get(reverse("tax_factors")).content.decode()
    assert rows_of(page) == TaxFactorRate.objects.count() == 6 + 4
    assert "税负因子表" in page and 'id="tax-add"' in page
    general = c.get(reverse("tax_factors"), {"province": Province.objects.get(name="河南省").pk,
                                             "invoice_type": "GENERAL"}).content.decode()
    assert rows_of(general) == 2
    # oldest first; the later row is in force, the earlier superseded
    assert general.index("2024-01-01") < general.index("2024-06-01")
    assert general.count("已被取代") == 1 and general.count("生效中") == 1
    only_ctcc = c.get(reverse("tax_factors"), {"operator": "CTCC"}).content.decode()
    assert rows_of(only_ctcc) == 1 and "电信拒付" in only_ctcc
    no_override = c.get(reverse("tax_factors"), {"operator": "*"}).content.decode()
    assert rows_of(no_override) == 9
    assert c.get(reverse("tax_factors"), {"province": "abc"}).status_code == 400


def test_an_admin_adds_a_dated_row_and_cannot_rewrite_one_in_force(users):
    c = login(users["admin"])
    form = {"province": Province.objects.get(name="河南省").pk, "operator": "CUCC",
            "invoice_type": "GENERAL", "effective_from": "2024-03-01", "factor_pct": "10",
            "note": "联通协议", "reason": "协议签订"}
    r = c.post(reverse("tax_factor_add"), form, follow=True)
    assert r.status_code == 200
    rate = TaxFactorRate.objects.get(operator__code="CUCC")
    assert (rate.factor, rate.effective_from, rate.recorded_by) == (
        D("0.1000"), date(2024, 3, 1), users["admin"])
    entry = AuditEntry.objects.get(action="tax_factor.add")
    assert entry.reason == "协议签订" and entry.after["operator"] == "CUCC"
    r = c.post(reverse("tax_factor_add"), {**form, "factor_pct": "8"}, follow=True)
    assert "不能改写" in r.content.decode()
    assert TaxFactorRate.objects.get(operator__code="CUCC").factor == D("0.1000")
    for bad in ({"factor_pct": "abc"}, {"factor_pct": "3.675"}, {"factor_pct": "150"},
                {"effective_from": "2024-02-30"}, {"reason": ""}):
        r = c.post(reverse("tax_factor_add"), {**form, "effective_from": "2024-04-01", **bad},
                   follow=True)
        assert r.status_code == 200 and 'class="error"' in r.content.decode(), bad
    assert TaxFactorRate.objects.filter(operator__code="CUCC").count() == 1
    # an override lifted: a row that ends it
    c.post(reverse("tax_factor_add"), {**form, "effective_from": "2024-09-01", "ends": "1",
                                       "factor_pct": ""})
    assert TaxFactorRate.objects.get(operator__code="CUCC",
                                     effective_from=date(2024, 9, 1)).factor is None


def test_only_rows_not_yet_in_force_are_withdrawn(users):
    admin = users["admin"]
    henan = Province.objects.get(name="河南省")
    later = add_rate(admin, effective_from=timezone.localdate() + timedelta(days=10),
                     factor=D("0.10"), province=henan, reason="预告")
    past = add_rate(admin, effective_from=date(2024, 1, 1), factor=D("0.10"), province=henan,
                    reason="文件")
    c = login(admin)
    page = c.get(reverse("tax_factors")).content.decode()
    assert reverse("tax_factor_withdraw", args=[later.pk]) in page
    assert reverse("tax_factor_withdraw", args=[past.pk]) not in page
    r = c.post(reverse("tax_factor_withdraw", args=[past.pk]), {"reason": "x"}, follow=True)
    assert TaxFactorRate.objects.filter(pk=past.pk).exists() and "不能撤销" in r.content.decode()
    c.post(reverse("tax_factor_withdraw", args=[later.pk]), {"reason": "取消"})
    assert not TaxFactorRate.objects.filter(pk=later.pk).exists()
    assert AuditEntry.objects.get(action="tax_factor.withdraw").reason == "取消"
    assert c.post(reverse("tax_factor_withdraw", args=[999999]),
                  {"reason": "x"}).status_code == 404


def test_clerks_viewers_and_operators_read_in_scope_and_cannot_write(users):
    seed(users)
    before = TaxFactorRate.objects.count()
    future = add_rate(users["admin"], effective_from=timezone.localdate() + timedelta(days=5),
                      factor=D("0.1"), province=Province.objects.get(name="河南省"), reason="预告")
    for who in ("clerk_zz", "clerk_ly", "viewer", "cmcc", "ctcc_zz"):
        c = login(users[who])
        page = c.get(reverse("tax_factors")).content.decode()
        assert 'id="tax-add"' not in page and "withdraw" not in page, who
        r = c.post(reverse("tax_factor_add"), {"effective_from": "2024-02-01",
                                               "factor_pct": "1", "reason": "x"})
        assert r.status_code == 404, who
        r = c.post(reverse("tax_factor_withdraw", args=[future.pk]), {"reason": "x"})
        assert r.status_code == 404, who
    assert TaxFactorRate.objects.count() == before + 1
    # 郑州's clerk sees A-100's override, 洛阳's does not; operators see no account rows and
    # no other operator's override
    assert "房东专票特价" in login(users["clerk_zz"]).get(reverse("tax_factors")).content.decode()
    assert "房东专票特价" not in login(users["clerk_ly"]).get(reverse("tax_factors")).content.decode()
    cmcc = login(users["cmcc"]).get(reverse("tax_factors")).content.decode()
    assert "房东专票特价" not in cmcc and "电信拒付" not in cmcc and "A-100" not in cmcc
    ctcc = login(users["ctcc_zz"]).get(reverse("tax_factors")).content.decode()
    assert "电信拒付" in ctcc


def test_the_table_exports_and_its_template_downloads(users):
    seed(users)
    c = login(users["admin"])
    r = c.get(reverse("export", args=["tax_factors"]), {"format": "csv"})
    assert r.status_code == 200
    body = b"".join(r.streaming_content if r.streaming else [r.content]).decode("utf-8-sig")
    assert "factor_pct" in body and "房东专票特价" in body and "A-100" in body
    r = c.get(reverse("template", args=["tax_factors"]))
    assert r.status_code == 200
    # an operator's export holds no account row
    r = login(users["cmcc"]).get(reverse("export", args=["tax_factors"]), {"format": "csv"})
    body = b"".join(r.streaming_content if r.streaming else [r.content]).decode("utf-8-sig")
    assert r.status_code == 200 and "A-100" not in body and "电信拒付" not in body
