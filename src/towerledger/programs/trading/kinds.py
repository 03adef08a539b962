"""Import kinds of market trading: ``trading_contracts`` (交易合同; province admins only)
and ``trading_enrolments`` (交易户号; a clerk only accounts of their city). CSV in UTF-8 or
GBK, XLSX; Chinese or English headers; every bad row at once (row, column, reason in
zh + en); natural keys contract_no and (contract_no, account_no)."""

from collections import defaultdict

from towerledger.access.scope import scoped
from towerledger.db.bulk import lookup_ids, upsert
from towerledger.domain.errors import DomainError
from towerledger.domain.trading import Terms
from towerledger.exchange.authorise import outside_rows
from towerledger.exchange.registry import Kind, register
from towerledger.importers import values as v
from towerledger.importers.schema import Field, RowError, Schema, code, dec_of, integer, name
from towerledger.org.models import Province
from towerledger.programs.trading.models import Contract, Enrolment
from towerledger.programs.trading.services import direct_during
from towerledger.sites import terms as supply_terms
from towerledger.sites.models import SupplyAccount

CONTRACTS = Schema("trading_contracts", "市场化交易合同", (
    Field("contract_no", "合同编号", code),
    Field("province", "省份", name, aliases=("省",)),
    Field("year", "年度", integer(2000, 2100), aliases=("交易年度",)),
    Field("trader", "售电公司", name, aliases=("交易对象", "供电方", "trader_name")),
    Field("start", "合同开始日期", v.parse_date, aliases=("开始日期", "period_start")),
    Field("end", "合同结束日期", v.parse_date, aliases=("结束日期", "period_end")),
    Field("catalogue_price", "目录电价", dec_of(Contract, "catalogue_price")),
    Field("discount", "每千瓦时优惠", dec_of(Contract, "discount"), required=False,
          aliases=("优惠", "度电优惠")),
    Field("traded_price", "交易电价", dec_of(Contract, "traded_price"), required=False),
    Field("tolerance", "容差", dec_of(Contract, "tolerance"), required=False),
    Field("note", "备注", v.text, required=False),
), key=("contract_no",), notes=(
    "每千瓦时优惠与交易电价二选一；缴费单单价高于交易电价（或目录电价 − 优惠）加容差（默认 0.005 元/千瓦时）"
    "即稽核为 TRADING_DISCOUNT。",
    "Give discount or traded_price (one); a bill whose unit price is above the traded price "
    "(or catalogue − discount) plus the tolerance (default 0.005 yuan/kWh) is a "
    "TRADING_DISCOUNT finding.",
))

ENROLMENTS = Schema("trading_enrolments", "市场化交易户号", (
    Field("contract_no", "合同编号", code),
    Field("account_no", "电表户号", code, aliases=("户号",)),
), key=("contract_no", "account_no"), notes=(
    "只有直供电户号可以参加；同一户号不能同时参加期间重叠的两份合同。",
    "Direct accounts only; an account may not be in two contracts whose periods overlap.",
))

C_NAMES = tuple(f.name for f in CONTRACTS.fields)
E_NAMES = tuple(f.name for f in ENROLMENTS.fields)
C_FIELDS = ("province_id", "year", "trader", "start", "end", "catalogue_price", "discount",
            "traded_price", "tolerance", "note")


def err(r, column, zh, en):
    return RowError(r["_row"], column, zh, en)


def check_contracts(records) -> list[RowError]:
    provinces = set(Province.objects.values_list("name", flat=True))
    errors = []
    for r in records:
        if r.get("_bad"):
            continue
        if r["province"] not in provinces:
            errors.append(err(r, "province", f"省份 {r['province']} 不存在",
                              f"unknown province {r['province']}"))
        if r["end"] < r["start"]:
            errors.append(err(r, "end", "结束日期早于开始日期", "end before start"))
        elif not r["start"].year <= r["year"] <= r["end"].year:
            errors.append(err(r, "year", "年度须在合同期内", "the year must fall within the period"))
        try:
            Terms(r["catalogue_price"], r.get("discount"), r.get("traded_price"))
        except DomainError as exc:
            errors.append(err(r, "discount" if r.get("discount") else "traded_price",
                              exc.zh, exc.en))
    return errors


def store_contracts(records, user=None, progress=None):
    provinces = dict(Province.objects.values_list("name", "pk"))
    rows = [{"code": r["contract_no"], "province_id": provinces[r["province"]],
             "year": r["year"], "trader": r["trader"], "start": r["start"], "end": r["end"],
             "catalogue_price": r["catalogue_price"], "discount": r.get("discount"),
             "traded_price": r.get("traded_price"),
             "tolerance": r["tolerance"] if r.get("tolerance") is not None
             else Contract._meta.get_field("tolerance").default,
             "note": r.get("note") or ""} for r in records]
    return upsert(Contract, rows, ("code",), C_FIELDS, progress)


def export_contracts(user):
    qs = scoped(user, Contract.objects.all()).order_by("code")
    for c in qs.values_list("code", "province__name", "year", "trader", "start", "end",
                            "catalogue_price", "discount", "traded_price", "tolerance", "note"):
        yield dict(zip(C_NAMES, c, strict=True))


def check_enrolments(records) -> list[RowError]:
    contracts = {c.code: c for c in Contract.objects.filter(
        code__in=[r["contract_no"] for r in records if r.get("contract_no")])}
    accounts = {a["account_no"]: a for a in SupplyAccount.objects.filter(
        account_no__in=[r["account_no"] for r in records if r.get("account_no")]).values(
        "pk", "account_no")}
    book = supply_terms.load([a["pk"] for a in accounts.values()])   # dated supply terms
    held = defaultdict(list)
    for acc, c, start, end in Enrolment.objects.filter(
            account__account_no__in=list(accounts)).values_list(
            "account__account_no", "contract__code", "contract__start", "contract__end"):
        held[acc].append((c, start, end))
    in_file = defaultdict(list)
    errors = []
    for r in records:
        if r.get("_bad"):
            continue
        c, a = contracts.get(r["contract_no"]), accounts.get(r["account_no"])
        if c is None:
            errors.append(err(r, "contract_no", f"合同 {r['contract_no']} 不存在（请先导入合同）",
                              f"unknown contract_no {r['contract_no']} (import contracts first)"))
        if a is None:
            errors.append(err(r, "account_no", f"户号 {r['account_no']} 不存在",
                              f"unknown account_no {r['account_no']}"))
        elif c is not None and not direct_during(book, a["pk"], c.start, c.end):
            errors.append(err(r, "account_no", f"户号 {r['account_no']} 不是直供电",
                              f"account {r['account_no']} is not direct supply"))
        if c is None or a is None:
            continue
        others = [*held[r["account_no"]], *in_file[r["account_no"]]]
        for code_, start, end in others:
            if code_ != c.code and start <= c.end and end >= c.start:
                errors.append(err(r, "contract_no", f"户号已参加期间重叠的合同 {code_}",
                                  f"the account is already in the overlapping contract {code_}"))
                break
        in_file[r["account_no"]].append((c.code, c.start, c.end))
    return errors


def authorise_enrolments(records, importer) -> list[RowError]:
    return outside_rows(records, importer.user, SupplyAccount, "account_no")


def store_enrolments(records, user=None, progress=None):
    contracts = lookup_ids(Contract, "code", [r["contract_no"] for r in records])
    accounts = lookup_ids(SupplyAccount, "account_no", [r["account_no"] for r in records])
    rows = [{"contract_id": contracts[r["contract_no"]],
             "account_id": accounts[r["account_no"]]} for r in records]
    return upsert(Enrolment, rows, ("contract_id", "account_id"), (), progress)


def export_enrolments(user):
    qs = scoped(user, Enrolment.objects.all()).order_by("contract__code", "account__account_no")
    for row in qs.values_list("contract__code", "account__account_no"):
        yield dict(zip(E_NAMES, row, strict=True))


def register_kinds():
    register(Kind(CONTRACTS.kind, CONTRACTS, check_contracts, store_contracts,
                  export_contracts, C_NAMES))          # no authorise: province admins only
    register(Kind(ENROLMENTS.kind, ENROLMENTS, check_enrolments, store_enrolments,
                  export_enrolments, E_NAMES, authorise=authorise_enrolments))
