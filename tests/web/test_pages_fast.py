"""The big pages read rollups (issue 18), not a province's history: for every role the
statements list and the site ledger show exactly what summing the lines in the user's
scope gives (the definitions: collection.services.statement_paid, web.settlement
ledger_lines / ledger_sums), rows and totals, filtered or not."""

from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from tests.integration.test_collection import confirmed, month, receipts  # noqa: F401
from tests.web.test_pages import login
from towerledger.collection import services
from towerledger.collection.models import Statement
from towerledger.settlement.models import Line
from towerledger.web.settlement import OPERATORS, ledger_lines, ledger_sums
from towerledger.web.tables import PAGE_SIZE
from towerledger.web.templatetags.ledger import money

D = Decimal
ZERO = D("0.00")
ROLES = ("admin", "viewer", "clerk_zz", "clerk_ly", "cmcc", "ctcc_zz")


@pytest.fixture
def paid(confirmed, users, tmp_path):  # noqa: F811
    issued = {s.operator.code: s for s in services.issue_statements(month(), users["admin"])}
    today = timezone.localdate().isoformat()
    cmcc, cucc = issued["CMCC"], issued["CUCC"]
    receipts(tmp_path, [["R-1", "CMCC", "郑州市", str(cmcc.receivable - D("100.00")), today,
                         f"电费 {cmcc.number}"],
                        ["R-2", "CUCC", "郑州市", str(cucc.receivable), today, "五月电费"]])
    return issued


def _texts(cells):
    return [c["text"] for c in cells]


def _ledger_by_definition(user, params):
    qs = ledger_lines(user, params)
    operators = [c for c in OPERATORS if qs.filter(operator__code=c).exists()]
    sums = ledger_sums(operators)
    if role_name(user) in ("cmcc", "ctcc_zz"):
        sums.pop("paid"), sums.pop("tower")
    grouped = qs.values("site__site_code", "site__site_name", "month").annotate(**sums) \
        .order_by("-month", "site__site_code")
    rows = [[r["site__site_code"], r["site__site_name"], f"{r['month']:%Y-%m}",
             *[money(r[k] or ZERO) for k in sums]] for r in grouped[:PAGE_SIZE]]
    totals = qs.aggregate(**sums)
    return rows, [totals[k] or ZERO for k in sums], grouped.count()


def role_name(user):
    return user.username


@pytest.mark.parametrize("query", ["", "?site=ZZ", "?month=" + "{month}", "?city={city}"])
def test_the_site_ledger_equals_its_lines_for_every_role(paid, users, query):
    line = Line.objects.exclude(operator=None).first()
    query = query.format(month=f"{line.month:%Y-%m}", city=line.city_id)
    if "site=" in query:
        query = f"?site={line.site.site_code[-3:]}"
    for name in ROLES:
        user = users[name]
        r = login(user).get(reverse("ledger") + query)
        assert r.status_code == 200
        params = r.wsgi_request.GET
        rows, totals, count = _ledger_by_definition(user, params)
        assert [_texts(row["cells"]) for row in r.context["rows"]] == rows, name
        assert r.context["totals"] == totals, name
        assert r.context["page"].paginator.count == count, name
        assert count or name in ("clerk_ly",), name   # the scenario has lines to show


def test_the_statements_list_equals_the_definition_for_every_role(paid, users):
    for name in ROLES:
        user = users[name]
        r = login(user).get(reverse("statements"))
        assert r.status_code == 200
        qs = services.scoped_statements(user).annotate(paid=services.statement_paid())
        want = {st.number: st.paid for st in qs}
        shown = {row["cells"][0]["text"]: row for row in r.context["rows"]}
        assert set(shown) == set(want), name
        for number, row in shown.items():
            texts = _texts(row["cells"])
            assert money(want[number]) in texts, (name, number, texts)
        live = qs.exclude(status=Statement.Status.VOID)
        t = live.aggregate(n=Count("pk"), receivable=Sum("receivable"))
        paid_total = Line.objects.filter(statement__in=live.values("pk")).aggregate(
            s=Sum("written_off"))["s"] or ZERO
        assert r.context["totals"] == {"n": t["n"], "receivable": t["receivable"] or ZERO,
                                       "paid": paid_total,
                                       "outstanding": (t["receivable"] or ZERO) - paid_total}
        assert name == "clerk_ly" or paid_total or name == "ctcc_zz", name


def test_a_statements_page_equals_its_lines_for_every_role(paid, users):
    """A statement's totals and per-mode sums (written off read from its write-offs in
    one pass) equal its lines' sums by definition, with the line count as the pager's."""
    from django.db.models import Q

    written = 0
    for st in Statement.objects.all():
        for name in ROLES:
            user = users[name]
            r = login(user).get(reverse("statement", args=[st.pk]))
            if not services.scoped_statements(user).filter(pk=st.pk).exists():
                assert r.status_code == 404, name
                continue
            assert r.status_code == 200, name
            lines = Line.objects.filter(statement=st)
            sums = {"n": Count("pk"), "cost": Sum("cost_share"), "tax": Sum("tax_amount"),
                    "rec": Sum("receivable"), "off": Sum("written_off")}
            t = {k: v if v is not None else ZERO for k, v in lines.aggregate(**sums).items()}
            assert r.context["totals"] == t, name
            assert r.context["page"].paginator.count == t["n"], name
            modes = [{k: m[k] for k in ("mode", *sums)} for m in lines.values("mode")
                     .annotate(**sums).order_by("mode")]
            assert [{k: m[k] for k in ("mode", *sums)} for m in r.context["modes"]] == modes
            assert r.context["outstanding"] == t["rec"] - t["off"], name
            written += bool(t["off"])
            assert len(r.context["page"].object_list) == min(t["n"], PAGE_SIZE)
    assert written and Line.objects.filter(~Q(statement=None)).exists()


LINE_QUERIES = ["", "?tab=history", "?tab=history&status=CONFIRMED",
                "?tab=history&status=DISPUTED", "?month={month}", "?tab=history&city={city}",
                "?kind=ALLOCATION&tab=history", "?tab=history&operator=CMCC",
                "?tab=history&site=ZZ", "?site=ZZ"]


@pytest.mark.parametrize("query", LINE_QUERIES)
def test_the_lines_list_equals_its_lines_for_every_role(paid, users, query):
    """The lines list's totals and counts come from a rollup (LineTotals) and its pages
    month by month: the same totals, count and rows, in the same order, as the lines the
    list's filter selects."""
    from towerledger.web.settlement import filtered_lines

    line = Line.objects.exclude(operator=None).first()
    query = query.format(month=f"{line.month:%Y-%m}", city=line.city_id)
    shown_any = False
    for name in ROLES:
        user = users[name]
        r = login(user).get(reverse("lines") + query)
        assert r.status_code == 200, name
        qs = filtered_lines(user, r.wsgi_request.GET)
        t = qs.aggregate(n=Count("pk"), cost=Sum("cost_share"), tax=Sum("tax_amount"),
                         receivable=Sum("receivable"))
        assert r.context["totals"] == {k: v if v is not None else ZERO
                                       for k, v in t.items()}, name
        assert r.context["page"].paginator.count == t["n"], name
        want = list(qs.order_by("-month", "site__site_code", "pk").values_list(
            "pk", flat=True)[:PAGE_SIZE])
        assert [row["id"] for row in r.context["rows"]] == want, name
        shown_any = shown_any or bool(want)
    # the scenario's lines are all answered: the pending tab is empty, the history not
    assert shown_any or "tab=history" not in query or "DISPUTED" in query


def test_lines_cut_month_by_month_are_the_lines_in_order(paid, users):
    """``ByMonth`` slices the lines across months exactly as ordering them all would."""
    from datetime import timedelta

    from towerledger.web.settlement import ByMonth

    first = Line.objects.order_by("pk").first()
    earlier = (first.month - timedelta(days=1)).replace(day=1)
    Line.objects.filter(pk__in=list(Line.objects.order_by("pk").values_list(
        "pk", flat=True)[::3])).update(month=earlier)   # two months at least
    qs = Line.objects.all()
    months = list(qs.values("month").annotate(n=Count("pk")).order_by("-month")
                  .values_list("month", "n"))
    assert len(months) >= 2
    everything = list(qs.order_by("-month", "site__site_code", "pk"))
    for by_id in (False, True):   # rows sliced, or their ids first
        cut = ByMonth(qs.select_related("site"), months, by_id=by_id)
        assert cut.count() == len(everything) == len(cut)
        for size in (1, 2, 3, 5):
            for start in range(len(everything) + 1):
                part = cut[start:start + size]
                assert part == everything[start:start + size], (start, size, by_id)
                assert [ln.site.site_code for ln in part] == [
                    ln.site.site_code for ln in everything[start:start + size]]


def test_the_operators_site_report_pages_its_sites_in_the_database(paid, users):
    from towerledger.access.scope import scoped
    from towerledger.domain.months import month_end
    from towerledger.settlement.models import line_state
    from towerledger.web.monthly import as_money

    m = month()
    for name in ("cmcc", "ctcc_zz"):
        user = users[name]
        r = login(user).get(reverse("report", args=["mysites"]) + f"?month={m:%Y-%m}")
        assert r.status_code == 200
        qs = scoped(user, Line.objects.current().of_operators().chains_pushed_in(
            m, month_end(m)))
        want = [[r["site__site_code"], r["city__name"], r["n"], as_money(r["pushed"]),
                 as_money(r["confirmed"]), as_money(r["disputed"]), as_money(r["off"]),
                 as_money(r["pushed"]) - as_money(r["off"])]
                for r in qs.values("site__site_code", "city__name").annotate(
                    n=Count("pk"), pushed=Sum("receivable"),
                    confirmed=Sum("receivable", filter=line_state("confirmed")),
                    disputed=Sum("receivable", filter=line_state("disputed")),
                    off=Sum("written_off")).order_by("site__site_code", "city__name")]
        shown = [[row["name"], row["parent"], *(v for _t, v in row["cells"])]
                 for row in r.context["rows"]]
        assert want and shown == want[:50], name
        assert r.context["page"].paginator.count == len(want)
        assert any(row[6] for row in shown) or name == "ctcc_zz"   # something written off


@pytest.mark.parametrize("by", ["site", "operator", "county"])
def test_ageing_today_equals_the_receivables_core_for_every_role(paid, users, by):
    from datetime import timedelta

    today = timezone.localdate()
    owing = list(Line.objects.exclude(operator=None).filter(applications__isnull=True)
                 .order_by("pk").values_list("pk", flat=True))
    Line.objects.filter(pk=owing[0]).update(push_date=today - timedelta(days=45))
    Line.objects.filter(pk=owing[-1]).update(push_date=today - timedelta(days=400))
    labels = [label for _lo, _hi, label in services.BUCKETS]
    for name in ROLES:
        user = users[name]
        r = login(user).get(reverse("ageing") + f"?by={by}")
        assert r.status_code == 200
        data = services.ageing(user, by, today)
        if by == "site":
            data.sort(key=lambda x: -x["total"])
        want = [[x["lines"],
                 *[money(x["buckets"][label]) for label in labels], money(x["total"])]
                for x in data[:50]]
        shown = [_texts(row["cells"])[1:] for row in r.context["rows"]]
        assert shown == want, (name, by)
        assert r.context["grand"] == sum((x["total"] for x in data), ZERO), name
        assert r.context["lines"] == sum(x["lines"] for x in data), name
        assert r.context["totals"] == [sum((x["buckets"][label] for x in data), ZERO)
                                       for label in labels], name
        assert r.context["page"].paginator.count == len(data), name
        assert name in ("clerk_ly",) or data, name
