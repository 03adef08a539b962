"""The pages through Django's test client: language, throttled login, scope on every page,
upload limits, imports with progress and error report, formula-safe exports."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.helpers import SITES_HEADER, write_csv
from towerledger.access.models import AuditEntry
from towerledger.bills.models import Bill
from towerledger.exchange.models import ImportJob
from towerledger.sites.models import Site, SupplyAccount, Tenancy

PASSWORD = "pw-Secret-123"


def login(user) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    return c


def test_login_page_is_chinese_by_default_and_english_on_request(db):
    c = Client()
    page = c.get(reverse("login")).content.decode()
    assert "铁塔电费管理" in page and "用户名" in page
    c.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    page = c.get(reverse("login")).content.decode()
    assert "Tower Electricity Ledger" in page and "Username" in page


@override_settings(LOGIN_MAX_FAILURES=3)
def test_failed_logins_are_throttled_and_logged(users):
    c = Client()
    for _ in range(3):
        r = c.post(reverse("login"), {"username": "admin", "password": "wrong"})
        assert r.status_code == 200
    r = c.post(reverse("login"), {"username": "admin", "password": PASSWORD})
    assert "登录失败次数过多" in r.content.decode()
    assert "_auth_user_id" not in c.session
    assert AuditEntry.objects.filter(action="login_failed", object_key="admin").count() == 3
    assert AuditEntry.objects.filter(action="login_refused").exists()


def test_successful_login_is_logged_and_lands_home(users):
    r = Client().post(reverse("login"), {"username": "clerk_zz", "password": PASSWORD},
                      follow=True)
    assert r.status_code == 200 and "概览" in r.content.decode()
    assert AuditEntry.objects.filter(action="login", object_key="clerk_zz").exists()


def test_pages_need_login(db):
    r = Client().get(reverse("sites"))
    assert r.status_code == 302 and reverse("login") in r.url


def test_every_page_is_scoped_for_an_operator_user(users):
    c = login(users["ctcc_zz"])  # CTCC, 郑州市 only
    listing = c.get(reverse("sites")).content.decode()
    assert "ZZ001" in listing and "ZZ002" in listing and "LY001" not in listing
    assert c.get(reverse("site", args=["LY001"])).status_code == 404
    detail = c.get(reverse("site", args=["ZZ001"])).content.decode()
    assert "T-ZZ001-CTCC" in detail and "T-ZZ001-CMCC" not in detail and "A-100" not in detail
    tenancies = c.get(reverse("tenancies")).content.decode()
    assert "T-ZZ002-CTCC" in tenancies and "T-ZZ002-CMCC" not in tenancies
    for name in ("accounts", "bills", "flags", "imports", "audit_log"):
        assert c.get(reverse(name)).status_code == 404, name
    bill = Bill.objects.create(account=SupplyAccount.objects.get(account_no="A-100"),
                               bill_no="X", period_start="2024-05-01",
                               period_end="2024-05-31", amount=1)
    assert c.get(reverse("bill", args=[bill.pk])).status_code == 404
    assert c.get(reverse("export", args=["accounts"])).status_code == 404


def test_a_city_clerk_sees_only_their_city(users):
    c = login(users["clerk_ly"])
    assert "ZZ001" not in c.get(reverse("sites")).content.decode()
    assert c.get(reverse("site", args=["ZZ001"])).status_code == 404
    accounts = c.get(reverse("accounts")).content.decode()
    assert "A-300" in accounts and "A-100" not in accounts
    r = c.get(reverse("export", args=["sites"]))
    body = b"".join(r.streaming_content).decode("utf-8-sig")
    assert "LY001" in body and "ZZ001" not in body


@override_settings(TOWERLEDGER_JOB_RUNNER="sync")
def test_upload_runs_an_import_and_offers_the_error_report(users, tmp_path):
    c = login(users["admin"])
    bad = write_csv(tmp_path / "sites.csv", SITES_HEADER, [
        ["NEW1", "新站", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""],
        ["NEW2", "坏站", "河南省", "郑州市", "金水区", "TOWER", "", "", "", "", ""]])
    with bad.open("rb") as f:
        r = c.post(reverse("imports"), {"kind": "sites", "file": f})
    job = ImportJob.objects.get()
    assert r.status_code == 302 and r.url == reverse("import_job", args=[job.pk])
    assert job.status == ImportJob.Status.FAILED and job.error_count == 1
    page = c.get(r.url).content.decode()
    assert "TOWER" in page and "没有写入任何数据" in page
    report = c.get(reverse("import_report", args=[job.pk]))
    assert report.status_code == 200 and "错误说明" in b"".join(
        report.streaming_content).decode("utf-8-sig")
    assert not Site.objects.filter(site_code="NEW1").exists()
    assert login(users["clerk_zz"]).get(reverse("import_report", args=[job.pk])).status_code \
        == 404


@override_settings(TOWERLEDGER_JOB_RUNNER="sync")
def test_a_good_upload_is_stored(users, tmp_path):
    c = login(users["clerk_zz"])
    good = write_csv(tmp_path / "s.csv", SITES_HEADER, [
        ["NEW1", "新站", "河南省", "郑州市", "金水区", "MACRO", "", "", "", "", ""]])
    with good.open("rb") as f:
        c.post(reverse("imports"), {"kind": "sites", "file": f, "keep_going": "1"})
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.DONE and job.created == 1
    assert Site.objects.filter(site_code="NEW1").exists()


@pytest.mark.parametrize("name, content, message", [
    ("evil.exe", b"MZ\x90\x00", "只能导入"),
    ("fake.xlsx", b"site_code\nX\n", "不是 XLSX"),
    ("binary.csv", b"PK\x03\x04\x00\x00", "不是文本"),
])
def test_uploads_of_the_wrong_type_are_refused(users, tmp_path, name, content, message):
    c = login(users["admin"])
    path = tmp_path / name
    path.write_bytes(content)
    with path.open("rb") as f:
        r = c.post(reverse("imports"), {"kind": "sites", "file": f}, follow=True)
    assert message in r.content.decode() and not ImportJob.objects.exists()


@override_settings(UPLOAD_MAX_BYTES=100)
def test_uploads_over_the_size_limit_are_refused(users, tmp_path):
    path = write_csv(tmp_path / "big.csv", SITES_HEADER, [["X" * 50] * 11])
    with path.open("rb") as f:
        r = login(users["admin"]).post(reverse("imports"), {"kind": "sites", "file": f},
                                       follow=True)
    assert "文件超过" in r.content.decode() and not ImportJob.objects.exists()


def test_exports_are_safe_against_formula_injection(users):
    Site.objects.filter(site_code="ZZ001").update(site_name="=HYPERLINK(\"http://x\")")
    r = login(users["admin"]).get(reverse("export", args=["sites"]))
    body = b"".join(r.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in body


def test_bill_page_and_audit_queue_show_findings_and_actions_work(users, tmp_path):
    from tests.integration.test_bills import MAY, import_bills

    dear = [*MAY[:9], "1.80", "7776.00", *MAY[11:]]
    assert import_bills(tmp_path, [dear]).stored
    bill = Bill.objects.get()
    c = login(users["clerk_zz"])
    queue = c.get(reverse("flags") + "?severity=BLOCK").content.decode()
    assert "PRICE_CAP" in queue and "单价超过上限" in queue
    page = c.get(reverse("bill", args=[bill.pk])).content.decode()
    assert "单价 1.8000 超过上限 1.5000" in page and "echarts" in page
    r = c.post(reverse("pay"), {"ids": [bill.pk], "paid_date": "2024-06-03"}, follow=True)
    assert "因阻断项拦截 1 张" in r.content.decode()
    for flag in bill.flags.filter(severity="BLOCK"):
        c.post(reverse("flag_action", args=[flag.pk]), {"action": "resolve",
                                                        "reason": "合同约定价格"})
    r = c.post(reverse("pay"), {"ids": [bill.pk], "paid_date": "2024-06-03"}, follow=True)
    assert "已支付 1 张" in r.content.decode()
    bill.refresh_from_db()
    assert bill.status == "PAID"
    page = c.get(reverse("bill", args=[bill.pk])).content.decode()
    # paid → allocated and pushed at once: the lines, the tower-borne row, the total
    for tenancy in ("T-ZZ001-CMCC", "T-ZZ001-CUCC", "T-ZZ001-CTCC", "铁塔承担"):
        assert tenancy in page
    assert "7,776.00" in page.split("分摊")[-1]
    viewer = login(users["viewer"])
    assert viewer.post(reverse("pay"), {"ids": [bill.pk], "paid_date": "2024-06-03"}) \
        .status_code == 404


def test_tenancy_counts_on_home_follow_scope(users):
    page = login(users["cmcc"]).get(reverse("home")).content.decode()
    assert Tenancy.objects.filter(operator__code="CMCC").count() == 2
    assert "电表户号" not in page.split("<main")[1]


def test_the_browser_language_does_not_override_the_chinese_default(db):
    page = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").get(reverse("login")).content.decode()
    assert "铁塔电费管理" in page
