"""The rollups the big pages read (analysis.rollups): kept by triggers through every
service that changes lines or write-offs, they equal the definitions summed from the lines
at every step — and ``rebuild()`` finds the same rows. On both databases."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from tests.integration.test_collection import confirmed, month, receipts  # noqa: F401
from towerledger.analysis import rollups
from towerledger.analysis.models import (
    ChainBalance,
    LedgerFigures,
    LedgerSites,
    LedgerTotals,
    LineTotals,
    OwedDay,
    SiteOwed,
    StatementModes,
    StatementPaid,
)
from towerledger.collection import services
from towerledger.collection.models import Statement
from towerledger.org.models import City
from towerledger.settlement import services as settlement
from towerledger.settlement.models import Application, Line, line_state

ZERO = Decimal("0.00")
D = Decimal


def _money(v) -> Decimal:
    return Decimal(str(v or 0)).quantize(ZERO)


def _definition_ledger(keys):
    """The ledger's figures summed from the lines themselves, by ``keys``."""
    alloc = Q(kind=Line.Kind.ALLOCATION)
    rows = Line.objects.values(*keys).annotate(
        n=Count("pk"), alloc=Sum("cost_share", filter=alloc),
        tower=Sum("cost_share", filter=alloc & line_state("tower")),
        confirmed=Sum("receivable", filter=line_state("confirmed")),
        disputed=Sum("receivable", filter=line_state("disputed")),
        unconfirmed=Sum("receivable", filter=line_state("unanswered")),
        current_rec=Sum("receivable", filter=line_state("current")),
        paid_off=Sum("written_off", filter=line_state("current"))).order_by()
    return {tuple(r[k] for k in keys): (r["n"], *(_money(r[f]) for f in rollups.FIGURES))
            for r in rows}


def _per_operator_and_all(keys):
    out = {}
    for key, figures in _definition_ledger([*keys, "operator_id"]).items():
        *k, op = key
        out[(*k, op or 0)] = figures
    for key, figures in _definition_ledger(keys).items():
        out[(*key, LedgerFigures.ALL)] = figures
    return out


def _stored(model, keys):
    return {tuple(r[k] for k in (*keys, "op_key")): (r["lines"], *(_money(r[f])
                                                                  for f in rollups.FIGURES))
            for r in model.objects.filter(lines__gt=0).values(*keys, "op_key", "lines",
                                                              *rollups.FIGURES)}


def _definition_sites():
    """The sites with lines per (month, city, op_key) and per (month, op_key) over every
    city (city None), counted from the lines themselves."""
    out = {}
    for site, m, city, op in Line.objects.values_list("site_id", "month", "city_id",
                                                      "operator_id").distinct():
        for key in (op or 0, LedgerFigures.ALL):
            for c in (city, None):
                out.setdefault((m, c, key), set()).add(site)
    return {k: len(v) for k, v in out.items()}


def assert_sites_exact():
    stored = {(m, c, k): n for m, c, k, n in LedgerSites.objects.filter(sites__gt=0)
              .values_list("month", "city_id", "op_key", "sites")}
    assert stored and stored == _definition_sites()
    assert not LedgerSites.objects.filter(sites__lt=0).exists()
    assert all(o == (k if k > 0 else None) and (c or 0) == ck for c, ck, k, o in
               LedgerSites.objects.values_list("city_id", "city_key", "op_key", "operator_id"))


def assert_modes_exact():
    """Each statement's lines per mode: count, sums and what is written off of them."""
    want = {(r["statement_id"], r["mode"]): (r["n"], _money(r["c"]), _money(r["t"]),
                                             _money(r["r"]), _money(r["w"]))
            for r in Line.objects.exclude(statement=None).values("statement_id", "mode")
            .annotate(n=Count("pk"), c=Sum("cost_share"), t=Sum("tax_amount"),
                      r=Sum("receivable"), w=Sum("written_off")).order_by()}
    stored = {(r[0], r[1]): (r[2], *(_money(v) for v in r[3:]))
              for r in StatementModes.objects.exclude(
                  lines=0, cost_share=0, tax_amount=0, receivable=0, paid=0).values_list(
                  "statement_id", "mode", "lines", "cost_share", "tax_amount", "receivable",
                  "paid")}
    assert stored == want


def _definition_owed(by):
    """What the open chains owe, from ``ChainBalance`` row by row, per (``by``, city_key,
    op_key): in its city and every city (0), of its operator and every one (-1)."""
    out = {}
    for first, city, op, amount, off in ChainBalance.objects.filter(
            operator__isnull=False, chain_date__isnull=False).values_list(
            by, "city_id", "operator_id", "amount", "written_off"):
        if _money(amount) == _money(off):
            continue
        for key in ((first, c, o) for c in (city, SiteOwed.ALL_CITIES)
                    for o in (op, SiteOwed.ALL_OPERATORS)):
            n, owed = out.get(key, (0, ZERO))
            out[key] = (n + 1, owed + _money(amount) - _money(off))
    return out


def assert_site_owed_exact():
    for model, by in ((SiteOwed, "site_id"), (OwedDay, "chain_date")):
        stored = {(s, c, o): (n, _money(v)) for s, c, o, n, v in model.objects.exclude(
            chains=0, owed=0).values_list(by, "city_key", "op_key", "chains", "owed")}
        assert stored == _definition_owed(by), model
    codes = dict(Line.objects.values_list("site_id", "site__site_code"))
    assert all(codes[s] == c for s, c in SiteOwed.objects.values_list("site_id", "site_code"))


def assert_ageing_exact(users):
    today = timezone.localdate()
    checked = 0
    city = City.objects.filter(name="郑州市").values_list("pk", flat=True).first()
    for user in users.values():
        for by in services.GROUPS:
            for filters in ({}, {"operator__code": "CMCC"}):
                fast = rollups.ageing_today(user, by, today, **filters)
                assert fast is not None
                assert fast == services.ageing(user, by, today, **filters), (user, by)
                checked += len(fast)
        # ageing by site's rows: what each site's open chains owe (analysis.SiteOwed)
        for filters in ({}, {"operator__code": "CMCC"}, {"city_id": city},
                        {"city_id": city, "operator__code": "CUCC"}):
            _chains, owed, days = rollups.site_owed_today(user, today, **filters)
            core = services.ageing(user, "site", today, **filters)
            want = {r["key"]: (r["lines"], r["total"]) for r in core}
            assert {r.site_code: (r.chains, _money(r.owed)) for r in owed} == want, (
                user, filters)
            assert (sum(d.chains for d in days), sum((_money(d.owed) for d in days), ZERO)) \
                == (sum(r["lines"] for r in core), sum((r["total"] for r in core), ZERO))
    assert checked and SiteOwed.objects.filter(chains__gt=0).exists()
    assert_site_owed_exact()
    assert rollups.ageing_today(users["admin"], "operator", today - timedelta(days=1)) is None


def assert_rollups_exact():
    paid = {st.pk: st.paid for st in Statement.objects.annotate(
        paid=services.statement_paid())}
    stored = dict(StatementPaid.objects.values_list("statement_id", "paid"))
    assert {k: v for k, v in paid.items() if v} == {k: _money(v) for k, v in stored.items()
                                                    if v}
    site_keys = ("site_id", "month", "city_id")
    assert _stored(LedgerFigures, site_keys) == _per_operator_and_all(site_keys)
    assert _stored(LedgerTotals, ("month", "city_id")) == _per_operator_and_all(
        ("month", "city_id"))
    keys = ("month", "city_id", "operator_id", "kind", "status")
    by_definition = {tuple(r[k] for k in keys): (r["n"], _money(r["c"]), _money(r["t"]),
                                                 _money(r["r"]))
                     for r in Line.objects.values(*keys).annotate(
                         n=Count("pk"), c=Sum("cost_share"), t=Sum("tax_amount"),
                         r=Sum("receivable")).order_by()}
    stored = {tuple(r[k] for k in keys): (r["lines"], _money(r["cost_share"]),
                                          _money(r["tax_amount"]), _money(r["receivable"]))
              for r in LineTotals.objects.filter(lines__gt=0).values(
                  *keys, "lines", "cost_share", "tax_amount", "receivable")}
    assert by_definition and stored == by_definition
    assert not LineTotals.objects.filter(lines__lt=0).exists()
    assert_sites_exact()
    assert_modes_exact()
    assert_site_owed_exact()
    codes = dict(Line.objects.values_list("site_id", "site__site_code"))
    assert all(codes[s] == c for s, c in LedgerFigures.objects.values_list("site_id",
                                                                           "site_code"))


def test_rollups_follow_every_service(confirmed, users, tmp_path):  # noqa: F811
    assert Line.objects.exists()
    assert_rollups_exact()
    issued = {s.operator.code: s for s in services.issue_statements(month(), users["admin"])}
    assert StatementModes.objects.filter(lines__gt=0).exists()
    assert_rollups_exact()
    today = timezone.localdate().isoformat()
    cmcc, cucc = issued["CMCC"], issued["CUCC"]
    receipts(tmp_path, [["R-1", "CMCC", "郑州市", str(cmcc.receivable - D("100.00")), today,
                         f"电费 {cmcc.number}"],
                        ["R-2", "CUCC", "郑州市", str(cucc.receivable), today, "五月电费"]])
    assert Application.objects.exists()
    assert StatementPaid.objects.get(statement=cmcc).paid == cmcc.receivable - D("100.00")
    assert_rollups_exact()
    assert_ageing_exact(users)
    # a write-off undone, a statement withdrawn (its lines back to the pool, paid or not)
    app = Application.objects.filter(statement=cucc).first()
    assert services.unmatch([app.pk], users["clerk_zz"], "误核销") == 1
    assert_rollups_exact()
    ctcc = issued.get("CTCC")
    if ctcc:
        services.withdraw_statement(ctcc.pk, users["admin"], "漏了一张账单")
        assert_rollups_exact()
    # a site's code changes: the ledger rows follow
    line = Line.objects.filter(operator__isnull=False).first()
    site = line.site
    site.site_code = site.site_code + "-X"
    site.save(update_fields=["site_code"])
    assert_rollups_exact()
    # older pushes fall into older buckets
    today = timezone.localdate()
    some = list(Line.objects.exclude(operator=None).filter(
        applications__isnull=True, root__isnull=True, adjustments__isnull=True,
        receivable__gt=0).order_by("pk").values_list("pk", flat=True))
    Line.objects.filter(pk=some[0]).update(push_date=today - timedelta(days=45))
    Line.objects.filter(pk=some[-1]).update(push_date=today - timedelta(days=400))
    assert_ageing_exact(users)
    rows = rollups.ageing_today(users["admin"], "operator", today)
    assert {label for r in rows for label, v in r["buckets"].items() if v} >= {"31-60", ">365"}
    # a bulk update of statuses and amounts (what the deadlines and corrections do)
    Line.objects.filter(pk=line.pk).update(status=Line.Status.DISPUTED,
                                           receivable=F("receivable") + 1)
    assert_rollups_exact()
    assert_ageing_exact(users)
    # lines moved to another city and month (a site re-filed under another county): the
    # site has lines of a month in two cities, counted once over every city; the keys a
    # site's lines all left are no longer counted
    other = City.objects.exclude(pk=line.city_id).order_by("pk").first()
    Line.objects.filter(pk=line.pk).update(city=other)
    assert_rollups_exact()
    assert LedgerSites.objects.get(month=line.month, city=None, op_key=LedgerFigures.ALL) \
        .sites == Line.objects.filter(month=line.month).values("site_id").distinct().count()
    earlier = (line.month - timedelta(days=1)).replace(day=1)
    Line.objects.filter(site=line.site, month=line.month).update(month=earlier)
    assert_rollups_exact()
    Line.objects.filter(site=line.site, month=earlier).exclude(pk=line.pk).update(
        month=line.month, city=other)
    assert_rollups_exact()
    before = _stored(LedgerFigures, ("site_id", "month", "city_id"))
    chains = list(ChainBalance.objects.order_by("chain").values_list())
    owed = {r[:4]: (r[4], _money(r[5])) for r in SiteOwed.objects.exclude(chains=0, owed=0)
            .values_list("site_id", "site_code", "city_key", "op_key", "chains", "owed")}
    days = {r[:3]: (r[3], _money(r[4])) for r in OwedDay.objects.exclude(chains=0, owed=0)
            .values_list("chain_date", "city_key", "op_key", "chains", "owed")}
    rollups.rebuild()
    assert _stored(LedgerFigures, ("site_id", "month", "city_id")) == before
    assert list(ChainBalance.objects.order_by("chain").values_list()) == chains
    assert {r[:4]: (r[4], _money(r[5])) for r in SiteOwed.objects.values_list(
        "site_id", "site_code", "city_key", "op_key", "chains", "owed")} == owed
    assert {r[:3]: (r[3], _money(r[4])) for r in OwedDay.objects.values_list(
        "chain_date", "city_key", "op_key", "chains", "owed")} == days
    assert_rollups_exact()
    assert len({c for _m, c, _k in _definition_sites()}) > 2   # cities and every city


def test_rollups_follow_disputes_and_deadlines(province, users, tmp_path):
    from tests.integration.test_settlement import paid_may

    paid_may(tmp_path, users)
    assert_rollups_exact()
    line = Line.objects.filter(operator__code="CMCC", status="PUSHED").first()
    dispute = settlement.dispute_line(line.pk, users["cmcc"], "KWH", "电量不对")
    assert_rollups_exact()
    settlement.answer_dispute(dispute.pk, users["admin"], "PARTIAL", "核减",
                              new_amount=line.receivable / 2)
    assert Line.objects.filter(root=line).exists()   # an adjustment line
    assert_rollups_exact()
    assert_ageing_exact(users)
    settlement.run_deadlines(timezone.localdate() + timedelta(days=11))
    assert_rollups_exact()
    assert_ageing_exact(users)
    # a receipt dated tomorrow: the rollup no longer answers for today, the core does
    assert ChainBalance.objects.exists()
