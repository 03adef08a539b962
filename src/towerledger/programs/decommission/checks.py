"""What the decommissioning adds to the rest of the ledger: the bill audit rule
SITE_ARCHIVED (bills.audit.EXTRA_CHECKS) and the refusal of master-data rows for archived
sites in imports (tenancies, allocation rules, account splits, the rent program's kinds)."""

from collections import defaultdict
from dataclasses import replace

from towerledger.db.bulk import OneOf, chunked
from towerledger.domain import decommission as dom
from towerledger.domain.codes import SiteStatus
from towerledger.exchange.registry import KINDS, register
from towerledger.importers.schema import RowError
from towerledger.sites.models import AccountSite, Site


def site_archived(bills: list[dict], rules: dict) -> dict:
    """bills.audit's extra check: bills of accounts feeding an archived site."""
    account_ids = {b["account_id"] for b in bills}
    archived = defaultdict(list)
    for acc, code, day in AccountSite.objects.filter(
            OneOf("account_id", account_ids), site__status=SiteStatus.ARCHIVED).values_list(
            "account_id", "site__site_code", "site__decommission_date"):
        archived[acc].append((code, day))
    out = {}
    for b in bills:
        if b["account_id"] not in archived:
            continue
        rule = rules.get(b["account_id"], {}).get(dom.SITE_ARCHIVED)
        if rule is None or not rule.enabled:
            continue
        found = dom.archived_finding(b["period_end"], archived[b["account_id"]], rule.severity)
        if found:
            out[b["pk"]] = [found]
    return out


# ---- imports -----------------------------------------------------------------------------

GUARDED = ("tenancies", "rules", "accounts")   # and every kind of the rent program


def _contract_sites(records) -> dict:
    """contract_no → site_code for rows naming a rent contract instead of a site."""
    nos = {r.get("contract_no") for r in records if r.get("contract_no")
           and not r.get("site_code")}
    if not nos:
        return {}
    from django.apps import apps

    model = apps.get_model("rent", "RentContract")
    out = {}
    for part in chunked(sorted(nos)):
        out.update(model.objects.filter(OneOf("contract_no", part))
                   .values_list("contract_no", "site__site_code"))
    return out


def archived_rows(records: list[dict]) -> list[RowError]:
    """Rows naming an archived site (or a rent contract of one) are refused; a tenancy row
    that ends the tenancy by the decommission date is allowed (a fix, never a new
    allocation)."""
    contracts = _contract_sites(records)

    def site_of(r):
        return r.get("site_code") or contracts.get(r.get("contract_no"))
    codes = {site_of(r) for r in records} - {None, ""}
    if not codes:
        return []
    archived = {}
    for part in chunked(sorted(codes)):
        archived.update(Site.objects.filter(OneOf("site_code", part),
                                            status=SiteStatus.ARCHIVED)
                        .values_list("site_code", "decommission_date"))
    errors = []
    for r in records:
        code = site_of(r)
        if code not in archived:
            continue
        if "tenancy_id" in r and dom.archived_row_allowed(archived[code], r.get("end_date")):
            continue
        column = "site_code" if r.get("site_code") else "contract_no"
        errors.append(RowError(r["_row"], column,
                               f"站址 {code} 已归档（拆站），不能再导入其数据；如需恢复请先重新启用站址",
                               f"site {code} is archived (decommissioned): its data cannot be "
                               "imported; reopen the site first"))
    return errors


def site_status_rows(records: list[dict]) -> list[RowError]:
    """The sites import keeps an archive as it is: a row may not take an archived site out
    of the archive (reopen it on its decommissioning page, with a reason), nor archive a
    site (the checklist does). A row that leaves ARCHIVED as it is passes (an export
    imported back changes nothing)."""
    codes = sorted({r["site_code"] for r in records})
    archived = set()
    for part in chunked(codes):
        archived.update(Site.objects.filter(OneOf("site_code", part),
                                            status=SiteStatus.ARCHIVED)
                        .values_list("site_code", flat=True))
    errors = []
    for r in records:
        was, now = r["site_code"] in archived, r.get("status") == SiteStatus.ARCHIVED
        if was and not now:
            errors.append(RowError(r["_row"], "status",
                                   f"站址 {r['site_code']} 已归档，须在拆站页面填写原因后重新启用",
                                   f"site {r['site_code']} is archived: reopen it on its "
                                   "decommissioning page, with a reason"))
        elif now and not was:
            errors.append(RowError(r["_row"], "status",
                                   "站址归档须通过拆站清单办理",
                                   "a site is archived through its decommissioning checklist"))
    return errors


def _guarded(check, rule=None):
    rule = rule or archived_rows

    def guarded_check(records):
        return rule(records) + check(records)
    guarded_check.archive_guard = True
    return guarded_check


def guard_imports():
    for name, kind in list(KINDS.items()):
        rent = kind.name.startswith("rent") or ".rent." in getattr(kind.check, "__module__", "")
        if (name in GUARDED or rent) and kind.importable and kind.check is not None and \
                not getattr(kind.check, "archive_guard", False) and \
                any(f.name in ("site_code", "contract_no") for f in kind.schema.fields):
            register(replace(kind, check=_guarded(kind.check)))
    sites = KINDS.get("sites")
    if sites is not None and not getattr(sites.check, "archive_guard", False):
        register(replace(sites, check=_guarded(sites.check, site_status_rows)))
