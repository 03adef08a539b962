"""Register the master-data kinds for import, template and export."""

from django.db.models import OuterRef, Subquery

from towerledger.access.scope import scoped
from towerledger.exchange.registry import Kind, register
from towerledger.sites import imports, schemas, tax_imports
from towerledger.sites.models import AccountSite, AllocationRule, Site, Tenancy, TenancyRatio


def _names(schema):
    return tuple(f.name for f in schema.fields)


def export_sites(user):
    qs = scoped(user, Site.objects.all()).order_by("site_code").values_list(
        "site_code", "site_name", "county__city__province__name", "county__city__name",
        "county__name", "site_type", "host_site__site_code", "status", "decommission_date",
        "longitude", "latitude")
    for row in qs.iterator(chunk_size=5000):
        yield dict(zip(_names(schemas.SITES), row, strict=True))


def export_tenancies(user):
    """The ratio in force last, with its date (importing the export changes nothing)."""
    latest = (TenancyRatio.objects.filter(tenancy_id=OuterRef("pk"))
              .order_by("-effective_from").values("effective_from")[:1])
    qs = scoped(user, Tenancy.objects.all()).order_by("tenancy_id").annotate(
        ratio_from=Subquery(latest)).values_list(
        "tenancy_id", "site__site_code", "operator__code", "start_date", "end_date",
        "settlement_mode", "lump_sum_monthly", "rated_power_w", "dc_current_a", "agreed_ratio",
        "ratio_from")
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


for schema, check, store, export, authorise in (
    (schemas.SITES, imports.check_sites, imports.store_sites, export_sites,
     imports.authorise_sites),
    (schemas.TENANCIES, imports.check_tenancies, imports.store_tenancies, export_tenancies,
     imports.authorise_tenancies),
    (schemas.ACCOUNTS, imports.check_accounts, imports.store_accounts, export_accounts,
     imports.authorise_accounts),
    (schemas.RULES, imports.check_rules, imports.store_rules, export_rules,
     imports.authorise_rules),
):
    register(Kind(schema.kind, schema, check, store, export, _names(schema),
                  authorise=authorise))

# 税负因子表: no authorise — province admins (and the system) only, everybody else refused
register(Kind(tax_imports.SCHEMA.kind, tax_imports.SCHEMA, tax_imports.check, tax_imports.store,
              tax_imports.export, _names(tax_imports.SCHEMA)))
