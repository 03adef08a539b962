"""Register the master-data kinds for import, template and export."""

from django.db.models import OuterRef, Subquery

from towerledger.access.scope import scoped
from towerledger.db.bulk import chunked
from towerledger.exchange.preview import text
from towerledger.exchange.registry import Kind, register
from towerledger.sites import imports, schemas, staged, staged_links, tax_imports
from towerledger.sites.models import AccountSite, AllocationRule, Site, Tenancy, TenancyRatio


def _names(schema):
    return tuple(f.name for f in schema.fields)


SITE_COLUMNS = ("site_code", "site_name", "county__city__province__name", "county__city__name",
                "county__name", "site_type", "host_site__site_code", "status",
                "decommission_date", "longitude", "latitude")
TENANCY_COLUMNS = ("tenancy_id", "site__site_code", "operator__code", "start_date", "end_date",
                   "settlement_mode", "lump_sum_monthly", "rated_power_w", "dc_current_a",
                   "agreed_ratio", "ratio_from")


def export_sites(user):
    qs = scoped(user, Site.objects.all()).order_by("site_code").values_list(*SITE_COLUMNS)
    for row in qs.iterator(chunk_size=5000):
        yield dict(zip(_names(schemas.SITES), row, strict=True))


def _tenancies(qs):
    """With the ratio in force last and its date (importing the export changes nothing)."""
    latest = (TenancyRatio.objects.filter(tenancy_id=OuterRef("pk"))
              .order_by("-effective_from").values("effective_from")[:1])
    return qs.annotate(ratio_from=Subquery(latest)).values_list(*TENANCY_COLUMNS)


def export_tenancies(user):
    qs = _tenancies(scoped(user, Tenancy.objects.all()).order_by("tenancy_id"))
    for row in qs.iterator(chunk_size=5000):
        yield dict(zip(_names(schemas.TENANCIES), row, strict=True))


def export_accounts(user):
    qs = scoped(user, AccountSite.objects.all()).order_by("account__account_no", "site__site_code")
    fields = [f"account__{f}" for f in ("account_no", *imports.ACCOUNT_FIELDS)]
    for row in qs.values_list(*fields, "site__site_code", "split_ratio").iterator(chunk_size=5000):
        yield dict(zip(_names(schemas.ACCOUNTS), row, strict=True))


def export_rules(user):
    qs = scoped(user, AllocationRule.objects.all()).order_by("site__site_code", "effective_from")
    for row in qs.values_list("site__site_code", "effective_from", "method", "fallback_method",
                              "common_policy", "tower_share").iterator(chunk_size=5000):
        yield dict(zip(_names(schemas.RULES), row, strict=True))


# ---- snapshots for the import preview (exchange.preview): by business key, as text ----

def _snapshot(schema, rows, extra=None) -> dict:
    names = _names(schema)
    width = len(schema.key)
    out = {}
    for row in rows:
        values = dict(zip(names, (text(v) for v in row), strict=True))
        out[tuple(values[k] for k in schema.key[:width])] = values
    if extra:
        for key, more in extra.items():
            if key in out:
                out[key].update(more)
    return out


def snapshot_sites(records) -> dict:
    codes = [r["site_code"] for r in records]
    rows = [row for part in chunked(codes) for row in
            Site.objects.filter(site_code__in=part).values_list(*SITE_COLUMNS)]
    return _snapshot(schemas.SITES, rows)


def snapshot_tenancies(records) -> dict:
    """The export's columns plus the whole dated ratio history ("ratios")."""
    codes = [r["tenancy_id"] for r in records]
    rows, history = [], {}
    for part in chunked(codes):
        rows += _tenancies(Tenancy.objects.filter(tenancy_id__in=part))
        for code, since, ratio in (TenancyRatio.objects.filter(tenancy__tenancy_id__in=part)
                                   .order_by("effective_from").values_list(
                                       "tenancy__tenancy_id", "effective_from", "agreed_ratio")):
            history.setdefault((code,), []).append(f"{since}: {ratio}")
    return _snapshot(schemas.TENANCIES, rows,
                     {k: {"ratios": "; ".join(v)} for k, v in history.items()})


def snapshot_accounts(records) -> dict:
    """Every split of the accounts the file names (storing removes those it omits)."""
    nos = [r["account_no"] for r in records]
    fields = [f"account__{f}" for f in ("account_no", *imports.ACCOUNT_FIELDS)]
    rows = [row for part in chunked(nos) for row in
            AccountSite.objects.filter(account__account_no__in=part).values_list(
                *fields, "site__site_code", "split_ratio")]
    return _snapshot(schemas.ACCOUNTS, rows)


def snapshot_rules(records) -> dict:
    codes = [r["site_code"] for r in records]
    rows = [row for part in chunked(codes) for row in
            AllocationRule.objects.filter(site__site_code__in=part).values_list(
                "site__site_code", "effective_from", "method", "fallback_method",
                "common_policy", "tower_share")]
    return _snapshot(schemas.RULES, rows)


for schema, check, store, export, authorise, snapshot in (
    (schemas.SITES, imports.check_sites, imports.store_sites, export_sites,
     imports.authorise_sites, snapshot_sites),
    (schemas.TENANCIES, imports.check_tenancies, imports.store_tenancies, export_tenancies,
     imports.authorise_tenancies, snapshot_tenancies),
    (schemas.ACCOUNTS, imports.check_accounts, imports.store_accounts, export_accounts,
     imports.authorise_accounts, snapshot_accounts),
    (schemas.RULES, imports.check_rules, imports.store_rules, export_rules,
     imports.authorise_rules, snapshot_rules),
):
    register(Kind(schema.kind, schema, check, store, export, _names(schema),
                  authorise=authorise, snapshot=snapshot,
                  # sites (host chains) and accounts (splits summing to 100) judge rows
                  # together: read whole; the others stream
                  streams=schema in (schemas.TENANCIES, schemas.RULES),
                  # PostgreSQL: COPY into a staging table, set-based checks and store
                  staged={schemas.SITES: staged.SITES, schemas.RULES: staged.RULES,
                          schemas.TENANCIES: staged_links.TENANCIES,
                          schemas.ACCOUNTS: staged_links.ACCOUNTS}.get(schema)))

# 税负因子表: no authorise — province admins (and the system) only, everybody else refused
register(Kind(tax_imports.SCHEMA.kind, tax_imports.SCHEMA, tax_imports.check, tax_imports.store,
              tax_imports.export, _names(tax_imports.SCHEMA)))
