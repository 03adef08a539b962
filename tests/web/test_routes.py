"""Every web page × every role (issue 16), like tests/api/test_routes.py for the API: each URL
pattern, read from the URLconf itself, is asked for with GET and with an empty POST by a
visitor, a province admin, a viewer, a city clerk and an operator user, on a small province
with bills, lines, disputes, statements, receipts, an import and a close job. Every answer is
200, a redirect (to the login page for the visitor), 400 (the product's own bad-parameter
page), 405 for a GET of a form action, or the product's own 403/404 page — never a server
error and never Django's debug or plain pages, with DEBUG off as the demo and production run.

URL parameters are real ids of that province (and one that does not exist); a pattern with a
parameter this test has no value for fails, naming it, so a page added later is covered."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from tests.api.test_routes import collected, lines  # noqa: F401 — fixtures
from towerledger.access.tokens import create_token

SKIP_PREFIXES = ("admin/", "api/", "i18n/")   # Django's admin, the API (its own test), i18n
ROLES = ("anonymous", "admin", "viewer", "clerk_zz", "cmcc")
MISSING = 987654321
OWN_PAGE = 'id="error-page"'


def web_patterns():
    """(route with <converter:name> parts, name) of every page below the site's root."""
    out = []

    def walk(patterns, prefix):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                if not route.startswith(SKIP_PREFIXES):
                    walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and not route.startswith(SKIP_PREFIXES):
                if route.startswith("^"):
                    continue   # the programs' old addresses: redirects, test_program_urls.py
                out.append((route, p.name))
    walk(get_resolver().url_patterns, "")
    return out


def first(model, **filters):
    row = model.objects.filter(**filters).order_by("pk").first()
    return row.pk if row else MISSING


def values(users):
    """Parameter name (or "route name:parameter") → the values to try."""
    from towerledger.analysis.models import CloseJob
    from towerledger.bills.models import Bill, Flag
    from towerledger.collection.models import Receipt, Statement
    from towerledger.exchange.models import ExportJob, ImportJob
    from towerledger.exchange.registry import KINDS
    from towerledger.settlement.models import Dispute, Line
    from towerledger.sites.models import Site, TaxFactorRate
    from towerledger.web.reports import REPORTS

    job = ImportJob.objects.create(kind="sites", filename="站址.csv", user=users["clerk_zz"])
    close = CloseJob.objects.create(month=timezone.localdate().replace(day=1, month=1),
                                    user=users["admin"], status=CloseJob.Status.FAILED)
    token, _raw = create_token(users["cmcc"], "ERP", by=users["admin"])
    by_prefix = {"bills": Bill, "flags": Flag, "imports": ImportJob, "lines": Line,
                 "disputes": Dispute, "statements": Statement, "receipts": Receipt,
                 "tax-factors": TaxFactorRate}
    pk = {prefix: [first(model), MISSING] for prefix, model in by_prefix.items()}
    pk["imports"] = [job.pk, MISSING]
    pk["close"] = [close.pk, MISSING]
    pk["export-jobs"] = [ExportJob.objects.create(what="lines", filename="lines-pending.xlsx",
                                                  user=users["cmcc"]).pk, MISSING]
    pk["people"] = [users["cmcc"].pk, users["admin"].pk, MISSING]
    from towerledger.programs.theft.models import Case
    pk["theft"] = [first(Case), MISSING]
    from towerledger.programs.conversion.models import Project
    from towerledger.programs.trading.models import Contract
    pk["conversion"] = [first(Project), MISSING]
    pk["trading"] = [first(Contract), MISSING]
    from towerledger.programs.decommission.models import Decommissioning
    pk["decommission"] = [first(Decommissioning), MISSING]
    from towerledger.programs.generator.models import Finding as GeneratorFinding
    from towerledger.programs.generator.models import Outage
    pk["generator"] = [first(Outage), first(GeneratorFinding), MISSING]   # outages, findings
    pk["theft_from_flag"] = pk["flags"]                # a case from an audit flag
    from datetime import date

    from towerledger.programs.rent.services import save_contract
    rent = save_contract("HT-ROUTES", site=Site.objects.order_by("site_code").first(),
                         start_date=date(2024, 1, 1), end_date=date(2024, 12, 31),
                         annual_rent=1200, cycle="QUARTERLY", pass_through="TENANCY")
    return {
        "pk": pk,
        "token_pk": [token.pk, MISSING],
        "code": [Site.objects.order_by("site_code").first().site_code, "NO-SUCH-SITE"],
        "template:kind": [next(k for k, v in KINDS.items() if v.importable), "no-such-kind"],
        "export:kind": [*list(KINDS)[:2], "no-such-kind"],
        "export_start:what": ["lines", "bills", "no-such-kind"],
        "report:kind": [*(k for k, _label, _who in REPORTS), "no-such-report"],
        "audit_settings_save:code": ["PRICE_CAP", "NO_SUCH_RULE"],
        "decommission_step:action": ["tenancies", "archive", "no-such-step"],
        "quality_rule:rule": ["SITE_NO_COORDS", "NO_SUCH_RULE"],
        "contract_no": [rent.contract_no, "NO-SUCH-CONTRACT"],
    }


PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def urls_of(route, name, vals):
    """Every URL of ``route`` with its parameters filled in from ``vals``."""
    params = PARAM.findall(route)
    if not params:
        return ["/" + route]
    choices = []
    for _conv, param in params:
        if param == "pk":
            # a program's pages are under programs/<name>/: their ids are the program's
            prefix = name if name in vals["pk"] else route.removeprefix("programs/").split("/", 1)[0]
            assert prefix in vals["pk"], f"no ids for <pk> of {route} ({name}): add them"
            choices.append(vals["pk"][prefix])
        else:
            key = f"{name}:{param}" if f"{name}:{param}" in vals else param
            assert key in vals, f"no values for <{param}> of {route} ({name}): add them"
            choices.append(vals[key])
    urls = []
    for i in range(max(len(c) for c in choices)):
        filled, it = route, iter(c[min(i, len(c) - 1)] for c in choices)
        filled = PARAM.sub(lambda _m, it=it: str(next(it)), filled)
        urls.append("/" + filled)
    return urls


def judge(role, method, url, response):
    """None if the answer is one of the product's; otherwise what is wrong."""
    status = response.status_code
    body = response.content.decode(errors="replace") if not response.streaming else ""
    if "Traceback" in body or "technical_500" in body or "URLconf" in body:
        return f"Django's debug page ({status})"
    if status >= 500:
        return f"server error {status}"
    if status in (301, 302, 303):
        target = response.headers["Location"]
        if role == "anonymous" and "/login/" not in target:
            return f"a visitor is sent to {target}, not the login page"
        if role != "anonymous" and target.startswith("/login/"):
            return "a logged-in user is sent to the login page"
        return None
    if status in (403, 404):
        return None if OWN_PAGE in body else f"{status} is not the product's own page"
    if status == 405 and method == "GET":
        return None
    if status in (200, 400):
        return None
    return f"unexpected status {status}"


@pytest.mark.django_db
def test_every_page_for_every_role(collected, users, settings):  # noqa: F811
    settings.DEBUG = False
    settings.TOWERLEDGER_JOB_RUNNER = "sync"
    vals = values(users)
    routes = web_patterns()
    assert len(routes) > 60 and ("people/", "people") in routes
    clients = {role: Client(raise_request_exception=False) for role in ROLES}
    problems, asked = [], 0
    for route, name in routes:
        if name == "logout":
            continue  # logging out ends the session the next pages are asked with
        for url in urls_of(route, name, vals):
            for role in ROLES:
                for method in ("get", "post"):
                    if role != "anonymous":
                        # again for every request: an empty POST to a reset-password form
                        # gives that user a new password, which ends their sessions
                        clients[role].force_login(
                            get_user_model().objects.get(pk=users[role].pk))
                    response = getattr(clients[role], method)(url)
                    asked += 1
                    wrong = judge(role, method.upper(), url, response)
                    if wrong:
                        problems.append(f"{method.upper()} {url} as {role}: {wrong}")
    assert not problems, "\n".join(problems)
    assert asked > 1000
    # an empty POST deactivates nobody: deactivating needs a reason
    assert all(get_user_model().objects.get(pk=u.pk).is_active for u in users.values())
