"""No untranslated string in either language: each role walks the main pages in Chinese and
in English, and the visible text is checked for the other language.

English mode: a run of Chinese characters is allowed only if it is data (it occurs in a
stored value: site, city and operator names, reasons, explanations …) or a business term
shown in both languages on purpose. Chinese mode: an English word is allowed if it is a
code (upper case, or snake_case), data, a unit, or on the allow-list below."""

import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse

from tests.integration.test_collection import confirmed, month  # noqa: F401
from tests.web.test_pages import login
from towerledger.bills.models import Bill
from towerledger.collection import services
from towerledger.exchange.registry import KINDS
from towerledger.settlement.models import Line
from towerledger.sites.models import Site

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_']+")
# shown in both languages on purpose: the language switcher, a business term glossed in
# English text (an advance, 预收), product, format and unit names, the CLI's command names
ZH_IN_EN = {"中文", "简体中文", "预收"}
EN_IN_ZH = {"English", "towerledger", "deadlines", "kWh", "Excel", "XLSX", "CSV", "PDF",
            "API", "KPI", "PUE"} | set(KINDS)   # import kinds are file codes (CLI, templates)
PAGES = ("home", "dashboard", "sites", "accounts", "bills", "flags", "lines", "disputes",
         "statements", "receipts", "ageing", "reconcile", "imports", "audit_log",
         "audit_settings", "month_close", "people", "tax_factors")


class _Visible(HTMLParser):
    """Text a user reads: text nodes outside script/style, plus placeholder, title and
    value of buttons."""

    def __init__(self):
        super().__init__()
        self.out, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._skip += 1
        a = dict(attrs)
        for name in ("placeholder", "title", "aria-label", "data-confirm"):
            if a.get(name):
                self.out.append(a[name])
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.out.append(a["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.out.append(data.strip())


def visible(html: str) -> list[str]:
    p = _Visible()
    p.feed(html)
    return p.out


def _data_blob() -> str:
    """Every stored text value (what the pages show as data), one per line."""
    values = []
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields
                  if isinstance(f, (models.CharField, models.TextField, models.JSONField))]
        if fields:
            for row in model._default_manager.values_list(*fields):
                values += [str(v) for v in row if v]
    return "\n".join(values)


def _urls(users):
    st = Line.objects.filter(statement__isnull=False).first().statement
    urls = [reverse(n) for n in PAGES]
    urls += [reverse("site", args=[Site.objects.order_by("pk").first().site_code]),
             reverse("bill", args=[Bill.objects.get(bill_no="B-2405").pk]),
             reverse("line", args=[Line.objects.order_by("pk").first().pk]),
             reverse("statement", args=[st.pk]), reverse("report", args=["kpi"]),
             reverse("person", args=[users["clerk_zz"].pk])]
    return urls


def _walk(users, language):
    found = {}
    for role in ("admin", "clerk_zz", "cmcc", "viewer"):
        client = login(users[role])
        client.post(reverse("set_language"), {"language": language, "next": "/"})
        for url in _urls(users):
            r = client.get(url)
            if r.status_code != 200:
                continue     # not this role's page (404) or a redirect
            for text in visible(r.content.decode()):
                found.setdefault(text, set()).add(url)
    return found


@pytest.fixture
def walked(confirmed, users):  # noqa: F811
    services.issue_statements(month(), users["admin"])
    return _data_blob()


def test_english_pages_have_no_chinese_beyond_data(walked, users):
    data = walked
    bad = {}
    for text, urls in _walk(users, "en").items():
        runs = [r for r in CJK.findall(text) if r not in ZH_IN_EN and r not in data]
        if runs:
            bad[text] = sorted(urls)[:2]
    assert not bad, "\n".join(f"{t!r} on {u}" for t, u in sorted(bad.items()))


def test_chinese_pages_have_no_english_beyond_codes_and_data(walked, users):
    data = walked
    bad = {}
    for text, urls in _walk(users, "zh-hans").items():
        words = [w for w in WORD.findall(text)
                 if not (w.isupper() or "_" in w or w in EN_IN_ZH or w in data)]
        if words:
            bad[text] = sorted(urls)[:2]
    assert not bad, "\n".join(f"{t!r} on {u}" for t, u in sorted(bad.items()))
