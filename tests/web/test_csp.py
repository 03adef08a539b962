"""Issue 17: a strict Content-Security-Policy on every response (pages, admin, API docs), and
no template in the tree that marks data safe or carries inline script, event handlers or
styles (the policy would block them, and they are how stored XSS gets in)."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from towerledger.web.security import HEADER

SRC = Path(__file__).resolve().parents[2] / "src" / "towerledger"
PASSWORD = "pw-Secret-123"


def directives(response) -> dict[str, list[str]]:
    assert HEADER in response, f"no {HEADER} on {response.request['PATH_INFO']}"
    parts = [p.split() for p in response[HEADER].split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def assert_strict(response):
    d = directives(response)
    assert d["script-src"] == ["'self'"], d    # no 'unsafe-inline', no 'unsafe-eval', no host
    assert d["default-src"] == ["'self'"]
    assert d["style-src"] == ["'self'"]        # no <style> element, no foreign stylesheet
    assert d["object-src"] == ["'none'"]
    assert d["base-uri"] == ["'self'"]
    assert d["frame-ancestors"] == ["'none'"]
    assert d["form-action"] == ["'self'"]


def test_every_kind_of_response_carries_the_policy(users):
    anonymous = Client()
    assert_strict(anonymous.get(reverse("login")))
    assert_strict(anonymous.get("/admin/login/"))
    assert_strict(anonymous.get("/no-such-page/"))                       # 404
    assert_strict(anonymous.post(reverse("login"), {"username": "x"}))   # CSRF refusal, 403

    admin = Client()
    assert admin.login(username="admin", password=PASSWORD)
    for name in ("home", "dashboard", "sites", "bills", "flags", "lines", "disputes",
                 "statements", "receipts", "ageing", "reconcile", "audit_log", "month_close",
                 "imports"):
        r = admin.get(reverse(name))
        assert r.status_code == 200, name
        assert_strict(r)
    docs = admin.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert_strict(docs)
    assert_strict(admin.get("/api/v1/openapi.json"))

    staff = get_user_model().objects.create_superuser("root", password=PASSWORD)
    c = Client()
    c.force_login(staff)
    for url in ("/admin/", "/admin/org/county/", "/admin/access/auditentry/"):
        r = c.get(url)
        assert r.status_code == 200, url
        assert_strict(r)


def test_a_view_that_sets_its_own_policy_keeps_it(rf):
    from django.http import HttpResponse

    from towerledger.web.security import ContentSecurityPolicyMiddleware

    def view(request):
        r = HttpResponse("x")
        r[HEADER] = "default-src 'none'"
        return r

    assert ContentSecurityPolicyMiddleware(view)(rf.get("/"))[HEADER] == "default-src 'none'"


# ---- the templates themselves --------------------------------------------------------------

TEMPLATES = sorted(SRC.rglob("templates/**/*.html"))
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTR = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)


def offences(text: str) -> list[str]:
    found = []
    if re.search(r"\|\s*safe\b", text):
        found.append("|safe")
    if re.search(r"{%\s*autoescape\s+off", text):
        found.append("autoescape off")
    for attrs, body in SCRIPT.findall(text):
        if body.strip() and "application/json" not in attrs:
            found.append("inline <script> with code")
        if "src=" not in attrs and "application/json" not in attrs:
            found.append("<script> without src")
    if HANDLER.search(text):
        found.append("inline event handler")
    if STYLE_ATTR.search(text):
        found.append("style attribute")
    if re.search(r"javascript:", text, re.I):
        found.append("javascript: URL")
    return found


def test_the_checker_finds_what_it_looks_for():
    assert offences('{{ chart|safe }}') == ["|safe"]
    assert offences("{{ x | safe }}") == ["|safe"]
    assert "inline <script> with code" in offences("<script>\nvar d = 1;</script>")
    assert offences('<select onchange="this.form.submit()">') == ["inline event handler"]
    assert offences('<div class="a" style="width: 5%">') == ["style attribute"]
    assert offences('<a href="javascript:alert(1)">') == ["javascript: URL"]
    assert offences('{% autoescape off %}{{ x }}{% endautoescape %}') == ["autoescape off"]
    assert offences('<script src="/static/web/charts.js" defer></script>') == []
    assert offences('<div data-confirm="ok?" class="safe-box">') == []


def test_no_template_marks_data_safe_or_carries_inline_code_or_style():
    assert len(TEMPLATES) > 20, TEMPLATES
    bad = {str(p.relative_to(SRC)): found for p in TEMPLATES if (found := offences(p.read_text()))}
    assert bad == {}


def test_no_python_module_marks_markup_safe():
    """mark_safe / format_html / SafeString would bypass escaping; the API docs page builds its
    markup with html.escape and a JSON block that cannot close its element."""
    pattern = re.compile(r"\b(mark_safe|format_html|SafeString|SafeText|safestring)\b")
    bad = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
           if "migrations" not in p.parts and pattern.search(p.read_text())]
    assert bad == []


@pytest.mark.parametrize("payload", ["</script><script>window.__xss=1</script>",
                                     "<!--<script>", "\u2028</SCRIPT>"])
def test_the_api_docs_settings_block_cannot_be_closed_by_data(payload):
    from towerledger.api.docs import settings_block

    block = settings_block({"url": payload})
    opening, rest = block.split(">", 1)
    inner, closing = rest.rsplit("</", 1)
    assert 'type="application/json"' in opening and closing == "script>"
    assert "<" not in inner and ">" not in inner
