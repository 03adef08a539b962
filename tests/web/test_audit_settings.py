"""The audit rules page (issue 12): the province admin lists every rule with its code,
label, severity and thresholds, edits one (logged with who, before, after and why), and
re-audits the province's open bills in steps; nobody else may see or post it."""

from decimal import Decimal

from django.test import Client, override_settings

from tests.integration.test_bills import JUNE, MAY, bill, import_bills
from towerledger.access.models import AuditEntry
from towerledger.bills.models import AuditRuleSetting, Flag
from towerledger.bills.rule_settings import SettingError, save_setting
from towerledger.domain.audits import DEFAULT_RULES
from towerledger.org.models import Province

PASSWORD = "pw-Secret-123"


def login(user) -> Client:
    c = Client()
    assert c.login(username=user.username, password=PASSWORD)
    return c


def _province():
    return Province.objects.order_by("pk").first()


def test_the_page_lists_every_rule_for_the_province_admin_only(users):
    page = login(users["admin"]).get("/audit-settings/")
    assert page.status_code == 200
    html = page.content.decode()
    for code in DEFAULT_RULES:
        assert f'id="rule-{code}"' in html
    assert "超直流负载标杆" in html and 'name="th_over_pct"' in html
    assert "分摊方式回退" in html   # the allocation findings' policy is here too
    for who in ("clerk_zz", "viewer", "cmcc"):
        c = login(users[who])
        assert c.get("/audit-settings/").status_code == 404
        assert c.post("/audit-settings/GAP/", {"severity": "BLOCK", "reason": "x",
                                                "enabled": "on"}).status_code == 404
        assert c.post("/audit-settings/reaudit/", {"after": "0"}).status_code == 404
    assert not AuditRuleSetting.objects.exists()


def test_saving_a_rule_is_logged_with_before_after_and_why(users):
    c = login(users["admin"])
    province = _province()
    r = c.post("/audit-settings/BENCH_DC/", {
        "province": province.pk, "severity": "BLOCK", "enabled": "on", "th_over_pct": "35",
        "th_voltage": "53.5", "th_pue": "1.6", "th_hours": "24",
        "reason": "本省直流负载偏高，放宽阈值"})
    assert r.status_code == 302 and "changed=BENCH_DC" in r["Location"]
    s = AuditRuleSetting.objects.get(province=province, code="BENCH_DC")
    assert s.severity == "BLOCK" and Decimal(s.thresholds["over_pct"]) == 35
    entry = AuditEntry.objects.get(action="audit_rule_setting")
    assert entry.user == users["admin"] and entry.reason == "本省直流负载偏高，放宽阈值"
    assert entry.before["severity"] == "WARN" and entry.before["thresholds"]["over_pct"] == "20"
    assert entry.after["severity"] == "BLOCK" and entry.after["thresholds"]["over_pct"] == "35"
    page = c.get(f"/audit-settings/?province={province.pk}&changed=BENCH_DC").content.decode()
    assert 'value="35"' in page and "audit_settings_reaudit" not in page


def test_bad_settings_are_refused_in_both_languages(users):
    province = _province()
    for kwargs in ({"severity": "FATAL"}, {"thresholds": {"nonsense": "1"}},
                   {"thresholds": {"over_pct": "abc"}}, {"reason": " "}):
        args = {"severity": "WARN", "enabled": True, "thresholds": {}, "reason": "why"} | kwargs
        try:
            save_setting(users["admin"], province.pk, "BENCH_DC", **args)
        except SettingError as exc:
            assert exc.zh and exc.en
        else:
            raise AssertionError(f"accepted {kwargs}")
    try:
        save_setting(users["clerk_zz"], province.pk, "GAP", "WARN", True, {}, "why")
    except SettingError as exc:
        assert exc.code == "forbidden"
    else:
        raise AssertionError("a clerk changed a rule")
    # through the page the refusal is a message, nothing stored
    c = login(users["admin"])
    c.post("/audit-settings/GAP/", {"province": province.pk, "severity": "WARN",
                                    "th_max_gap_days": "-3", "reason": "x"})
    assert not AuditRuleSetting.objects.exists()
    assert "max_gap_days" in c.get("/audit-settings/").content.decode()


@override_settings(TOWERLEDGER_REAUDIT_STEP=1)   # one bill per step
def test_a_change_offers_a_reaudit_of_the_open_bills_in_steps(users, tmp_path):
    # two open (unpaid) bills; June starts 4 days after May ends: GAP under the default 1 day
    late = [*JUNE[:2], "2024-06-05", *JUNE[3:13], "", ""]
    assert import_bills(tmp_path, [MAY, late]).stored
    june = bill("A-100", "B-2406")
    assert Flag.objects.filter(bill=june, code="GAP").exists()
    c = login(users["admin"])
    province = _province()
    c.post("/audit-settings/GAP/", {"province": province.pk, "severity": "WARN",
                                    "enabled": "on", "th_max_gap_days": "5", "reason": "x"})
    page = c.get(f"/audit-settings/?province={province.pk}&changed=GAP").content.decode()
    assert "audit_settings_reaudit" in page or "/audit-settings/reaudit/" in page
    first = c.post("/audit-settings/reaudit/", {"province": province.pk, "after": "0"})
    html = first.content.decode()
    assert 'hx-trigger="load"' in html and "已重新稽核 1 / 2" in html and 'value="50"' in html
    after = bill("A-100", "B-2405").pk
    second = c.post("/audit-settings/reaudit/", {"province": province.pk, "after": after})
    html = second.content.decode()
    assert "已重新稽核 2 / 2" in html and 'hx-trigger="load"' not in html
    assert not Flag.objects.filter(bill=june, code="GAP").exists()   # 4 days ≤ 5
    assert AuditEntry.objects.filter(action="reaudit").count() == 2
