"""Checks and stores for the master-data imports. Set-wise: a handful of queries per file."""

from collections import defaultdict
from decimal import Decimal

from towerledger.access.scope import write_city_id, writes_everywhere
from towerledger.db.bulk import Counts, bulk_set, chunked, lookup_ids, upsert
from towerledger.domain.codes import Method, SettlementMode, SiteStatus
from towerledger.exchange.authorise import combine, outside, outside_rows
from towerledger.importers.schema import RowError
from towerledger.org.models import City, County, Operator, Province
from towerledger.sites.authorise import by_site
from towerledger.sites.models import (
    AccountSite,
    AllocationRule,
    Site,
    SupplyAccount,
    Tenancy,
    TenancyRatio,
)

HUNDRED = Decimal(100)


def err(record, column, zh, en):
    return RowError(record["_row"], column, zh, en)


def _unknown_sites(records, codes_found, column="site_code"):
    return [err(r, column, f"站址编码 {r[column]} 不存在（请先导入站址）",
                f"unknown site_code {r[column]} (import sites first)")
            for r in records if r[column] not in codes_found]


# ---- sites ----------------------------------------------------------------------------

def check_sites(records):
    errors = []
    in_file = {r["site_code"] for r in records}
    hosts = {r["host_site_code"] for r in records if r["host_site_code"]}
    known_hosts = set(lookup_ids(Site, "site_code", hosts - in_file)) | in_file
    host_of = {r["site_code"]: r["host_site_code"] for r in records if r["host_site_code"]}
    for r in records:
        if r["host_site_code"] == r["site_code"]:
            errors.append(err(r, "host_site_code", "宿主站不能是站址本身",
                              "a site cannot be its own host"))
        elif r["host_site_code"] and r["host_site_code"] not in known_hosts:
            errors.append(err(r, "host_site_code", f"宿主站 {r['host_site_code']} 不存在",
                              f"unknown host site {r['host_site_code']}"))
        if r["status"] == SiteStatus.DECOMMISSIONED and not r["decommission_date"]:
            errors.append(err(r, "decommission_date", "已拆除站址须填写拆站日期",
                              "a decommissioned site needs its decommission_date"))
        if r["site_code"] in _host_cycle(r, host_of):
            errors.append(err(r, "host_site_code", "宿主站关系成环",
                              "host sites form a cycle"))
        if r["decommission_date"] and r["status"] not in (SiteStatus.DECOMMISSIONED,
                                                          SiteStatus.ARCHIVED):
            errors.append(err(r, "status", "填写了拆站日期，站址状态应为 DECOMMISSIONED",
                              "decommission_date given but status is not DECOMMISSIONED"))
    return errors


def authorise_sites(records, importer):
    """A clerk writes sites of their city only, and never an existing site of another (a
    rename or a move); provinces and cities must exist unless the import creates them."""
    user = importer.user
    errors = _org_errors(records, importer)
    errors += outside_rows(records, user, Site, "site_code")
    errors += outside_rows(records, user, Site, "host_site_code", "site_code")
    city_id = write_city_id(user)
    if city_id is not None:
        own = City.objects.filter(pk=city_id).values_list("province__name", "name").first()
        errors += [outside(r, "city", r["city"]) for r in records
                   if (r["province"], r["city"]) != own]
    return errors


def _org_errors(records, importer):
    """A misspelt city must not quietly become a new one: provinces and cities named in the
    file must exist unless the import says it creates organisation data (``create_org``,
    province admins only). A new county under an existing city is ordinary in real data:
    a province admin's file may add one; a clerk's may not (a typo would split a county)."""
    if importer.create_org:
        return []
    provinces = set(Province.objects.values_list("name", flat=True))
    cities = set(City.objects.values_list("province__name", "name"))
    names = {r["city"] for r in records}
    counties = set(County.objects.filter(city__name__in=names).values_list(
        "city__province__name", "city__name", "name"))
    new_counties = writes_everywhere(importer.user)
    errors = []
    for r in records:
        p, c, k = r["province"], r["city"], r["county"]
        if p not in provinces:
            errors.append(err(r, "province", f"省份 {p} 不存在", f"no such province {p}"))
        elif (p, c) not in cities:
            errors.append(err(r, "city", f"地市 {c} 不存在", f"no such city {c}"))
        elif (p, c, k) not in counties and not new_counties:
            errors.append(err(r, "county", f"区县 {k} 不存在（新增区县须由省管理员导入）",
                              f"no such county {k} (a new county needs a province admin)"))
    return errors


def _host_cycle(record, host_of) -> set:
    """The codes on ``record``'s host chain within the file (contains itself if cyclic)."""
    seen, code = set(), host_of.get(record["site_code"])
    while code and code not in seen:
        seen.add(code)
        code = host_of.get(code)
    return seen


def _org_counties(records) -> dict[tuple, int]:
    """Create the provinces, cities and counties named in the file; return their ids."""
    provinces = {r["province"] for r in records}
    Province.objects.bulk_create([Province(name=p) for p in provinces], ignore_conflicts=True)
    prov = dict(Province.objects.filter(name__in=provinces).values_list("name", "pk"))
    cities = {(r["province"], r["city"]) for r in records}
    City.objects.bulk_create([City(province_id=prov[p], name=c) for p, c in cities],
                             ignore_conflicts=True)
    city = {(p, c): pk for p, c, pk in City.objects.filter(province_id__in=prov.values())
            .values_list("province__name", "name", "pk")}
    counties = {(r["province"], r["city"], r["county"]) for r in records}
    County.objects.bulk_create([County(city_id=city[p, c], name=k) for p, c, k in counties],
                               ignore_conflicts=True)
    return {(p, c, k): pk for p, c, k, pk in County.objects.filter(city_id__in=city.values())
            .values_list("city__province__name", "city__name", "name", "pk")}


def store_sites(records, user=None, progress=None):
    """Upsert in layers so that a host site exists before the sites hanging off it."""
    counties = _org_counties(records)
    counts = Counts()
    pending = list(records)
    while pending:
        waiting = {r["site_code"] for r in pending}
        ready = [r for r in pending if r["host_site_code"] not in waiting]
        pending = [r for r in pending if r["host_site_code"] in waiting]
        hosts = lookup_ids(Site, "site_code", [r["host_site_code"] for r in ready
                                               if r["host_site_code"]])
        rows = [{
            "site_code": r["site_code"], "site_name": r["site_name"],
            "county_id": counties[r["province"], r["city"], r["county"]],
            "site_type": r["site_type"], "status": r["status"] or SiteStatus.ACTIVE,
            "decommission_date": r["decommission_date"],
            "host_site_id": hosts.get(r["host_site_code"]),
            "longitude": r["longitude"], "latitude": r["latitude"],
        } for r in ready]
        counts += upsert(Site, rows, ("site_code",), SITE_FIELDS, progress)
    return counts


SITE_FIELDS = ("site_name", "county_id", "site_type", "status", "decommission_date",
               "host_site_id", "longitude", "latitude")


# ---- tenancies ------------------------------------------------------------------------

def _tenancies_outside(records, importer):
    """An existing tenancy of another city must not be moved onto the clerk's site."""
    return outside_rows(records, importer.user, Tenancy, "tenancy_id")


authorise_tenancies = combine(by_site(), _tenancies_outside)

def check_tenancies(records):
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    errors = _unknown_sites(records, sites)
    for r in records:
        if r["end_date"] and r["end_date"] < r["start_date"]:
            errors.append(err(r, "end_date", f"服务终止日期 {r['end_date']} 早于起租日期",
                              f"end_date {r['end_date']} is before start_date {r['start_date']}"))
        if r["settlement_mode"] == SettlementMode.LUMP_SUM and r["lump_sum_monthly"] is None:
            errors.append(err(r, "lump_sum_monthly", "包干结算须填写包干月金额",
                              "LUMP_SUM tenancies need lump_sum_monthly"))
        if r["effective_from"] and r["agreed_ratio"] is None:
            errors.append(err(r, "effective_from", "比例生效日期须与约定分摊比例一起填写",
                              "effective_from dates an agreed_ratio: give the ratio too"))
    return errors


TENANCY_FIELDS = ["site_id", "operator_id", "start_date", "end_date", "settlement_mode",
                  "lump_sum_monthly", "rated_power_w", "dc_current_a"]


def store_tenancies(records, user=None, progress=None):
    """Upsert the tenancies; a row's agreed_ratio becomes a dated ratio (TenancyRatio) from
    its effective_from, or from the tenancy's start — an empty ratio leaves the history as
    it is. A ratio never sums with the others here: the allocation renormalises per day
    and reports a sum ≠ 100 as a finding (RATIO_SUM), so no file is refused for it."""
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    operators = dict(Operator.objects.values_list("code", "pk"))
    rows = [{
        "tenancy_id": r["tenancy_id"], "site_id": sites[r["site_code"]],
        "operator_id": operators[r["operator"]], **{f: r[f] for f in TENANCY_FIELDS[2:]},
    } for r in records]
    changed: set = set()
    counts = upsert(Tenancy, rows, ("tenancy_id",), TENANCY_FIELDS, progress, changed)
    rated = [r for r in records if r["agreed_ratio"] is not None]
    if not rated:
        return counts
    ids = lookup_ids(Tenancy, "tenancy_id", [r["tenancy_id"] for r in rated])
    ratio_rows = [{"tenancy_id": ids[r["tenancy_id"]],
                   "effective_from": r["effective_from"] or r["start_date"],
                   "agreed_ratio": r["agreed_ratio"]} for r in rated]
    touched: set = set()
    upsert(TenancyRatio, ratio_rows, ("tenancy_id", "effective_from"), ("agreed_ratio",),
           touched=touched)
    moved = {r["tenancy_id"] for r in rated if (ids[r["tenancy_id"]], r["effective_from"]
             or r["start_date"]) in touched and (r["tenancy_id"],) not in changed}
    counts.unchanged -= len(moved)
    counts.updated += len(moved)
    refresh_current_ratios(ids.values())
    return counts


def refresh_current_ratios(tenancy_pks) -> None:
    """Tenancy.agreed_ratio := the ratio of its latest dated row (what pages show)."""
    latest = {}
    for part in chunked(list(tenancy_pks)):
        for pk, ratio in (TenancyRatio.objects.filter(tenancy_id__in=part)
                          .order_by("tenancy_id", "effective_from")
                          .values_list("tenancy_id", "agreed_ratio")):
            latest[pk] = ratio
    bulk_set(Tenancy, [{"pk": pk, "agreed_ratio": r} for pk, r in latest.items()],
             ["agreed_ratio"])


# ---- supply accounts ------------------------------------------------------------------

def _accounts_outside(records, importer):
    """An account feeding a site outside the clerk's city is not theirs to change (storing
    a file's splits removes the ones it does not list)."""
    return outside_rows(records, importer.user, SupplyAccount, "account_no")


authorise_accounts = combine(by_site(), _accounts_outside)
authorise_rules = by_site()

ACCOUNT_FIELDS = ["supply_mode", "supplier_type", "supplier_name", "input_invoice_type",
                  "contract_price", "price_cap", "payment_cycle_months", "multiplier", "lump_sum"]


def check_accounts(records):
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    errors = _unknown_sites(records, sites)
    groups = defaultdict(list)
    for r in records:
        groups[r["account_no"]].append(r)
    for account_no, rows in groups.items():
        first = rows[0]
        for r in rows[1:]:
            for f in ACCOUNT_FIELDS:
                if r[f] != first[f]:
                    errors.append(err(r, f, f"与第 {first['_row']} 行同一户号的 {f} 不一致",
                                      f"{f} differs from row {first['_row']} of the same account"))
        total = sum(r["split_ratio"] for r in rows)
        if total != HUNDRED:
            for r in rows:
                errors.append(err(r, "split_ratio",
                                  f"户号 {account_no} 的分摊比例合计 {total}，应为 100",
                                  f"split ratios of account {account_no} sum to {total}, not 100"))
        if first["price_cap"] is not None and first["contract_price"] is not None \
                and first["contract_price"] > first["price_cap"]:
            errors.append(err(first, "contract_price", "合同单价高于单价上限",
                              "contract_price is above price_cap"))
    return errors


def store_accounts(records, user=None, progress=None):
    """Counts are per file row (account × fed site): a row is updated when its account's
    fields or its split changed. Sites an account no longer feeds, per this file, are removed."""
    accounts = {}
    for r in records:
        accounts.setdefault(r["account_no"], r)
    rows = [{"account_no": no, **{f: r[f] for f in ACCOUNT_FIELDS}} for no, r in accounts.items()]
    for row in rows:
        row["multiplier"] = row["multiplier"] or Decimal(1)
        row["supplier_name"] = row["supplier_name"] or ""
        row["lump_sum"] = bool(row["lump_sum"])
    changed_accounts: set = set()
    upsert(SupplyAccount, rows, ("account_no",), ACCOUNT_FIELDS, progress, changed_accounts)
    ids = lookup_ids(SupplyAccount, "account_no", accounts)
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    split_rows = [{"account_id": ids[r["account_no"]], "site_id": sites[r["site_code"]],
                   "split_ratio": r["split_ratio"]} for r in records]
    touched: set = set()
    counts = upsert(AccountSite, split_rows, ("account_id", "site_id"), ("split_ratio",),
                    touched=touched)
    keep = {(s["account_id"], s["site_id"]) for s in split_rows}
    stale = []
    for part in chunked(list(ids.values())):
        stale += [(pk, a) for pk, a, s in AccountSite.objects.filter(account_id__in=part)
                  .values_list("pk", "account_id", "site_id") if (a, s) not in keep]
    for part in chunked([pk for pk, _ in stale]):
        AccountSite.objects.filter(pk__in=part).delete()
    changed_ids = {ids[no] for (no,) in changed_accounts} | {a for _, a in stale}
    moved = sum(1 for s in split_rows if s["account_id"] in changed_ids
                and (s["account_id"], s["site_id"]) not in touched)
    counts.unchanged -= moved
    counts.updated += moved
    return counts


# ---- allocation rules -----------------------------------------------------------------

def check_rules(records):
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    errors = _unknown_sites(records, sites)
    for r in records:
        if r["fallback_method"] == Method.SUBMETER:
            errors.append(err(r, "fallback_method", "备用分摊方式不能是分户计量",
                              "fallback_method cannot be SUBMETER"))
    return errors


def store_rules(records, user=None, progress=None):
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    rows = [{
        "site_id": sites[r["site_code"]], "effective_from": r["effective_from"],
        "method": r["method"], "fallback_method": r["fallback_method"] or Method.EQUAL,
        "common_policy": r["common_policy"] or "PRO_RATA",
        "tower_share": r["tower_share"] if r["tower_share"] is not None else Decimal(0),
    } for r in records]
    return upsert(AllocationRule, rows, ("site_id", "effective_from"),
                  ("method", "fallback_method", "common_policy", "tower_share"), progress)

