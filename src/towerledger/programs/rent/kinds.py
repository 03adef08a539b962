"""Import kinds of the rent program: ``rent_contracts`` (场租合同) and ``rent_payments``
(场租付款). CSV (UTF-8/GBK) and XLSX through the common reader; every bad row reported at once
with row, column and reason in Chinese and English; rows outside the importer's city refused;
contracts upserted by ``contract_no``, payments idempotent by ``payment_no``."""

from enum import StrEnum
from functools import partial

from django.db import transaction

from towerledger.access.scope import scoped
from towerledger.db.bulk import Counts, OneOf, lookup_ids, parts
from towerledger.exchange.authorise import combine, outside_rows
from towerledger.exchange.registry import Kind, register
from towerledger.importers import values as v
from towerledger.importers.schema import Field, RowError, Schema, code, code_of, date, dec_of, name
from towerledger.programs.rent import services
from towerledger.programs.rent.models import (
    Landlord,
    RentContract,
    RentPayment,
    ScheduleItem,
)
from towerledger.sites.models import Site


class Cycle(StrEnum):
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    YEARLY = "YEARLY"


class Timing(StrEnum):
    ADVANCE = "ADVANCE"
    ARREARS = "ARREARS"


class Escalation(StrEnum):
    NONE = "NONE"
    PERCENT = "PERCENT"
    STEP = "STEP"


class PassThrough(StrEnum):
    TENANCY = "TENANCY"
    RATIO = "RATIO"
    TOWER = "TOWER"


class LandlordKind(StrEnum):
    PERSON = "PERSON"
    ORG = "ORG"


class PayKind(StrEnum):
    RENT = "RENT"
    DEPOSIT = "DEPOSIT"


def _enum(e, aliases):
    return partial(v.parse_enum, enum=e, aliases=aliases)


CONTRACT_NO = code_of("chinese", 40)
BANK_ACCOUNT = code_of("plain", 40)

CONTRACTS = Schema("rent_contracts", "场租合同", (
    Field("contract_no", "合同编号", CONTRACT_NO),
    Field("site_code", "站址编码", code),
    Field("landlord", "业主", name, aliases=("出租方", "业主名称")),
    Field("landlord_type", "业主类型", _enum(LandlordKind, {"个人": "PERSON", "单位": "ORG",
                                                       "企业": "ORG", "村委会": "ORG"}),
          required=False),
    Field("bank_name", "开户行", name, required=False),
    Field("bank_account", "银行账号", BANK_ACCOUNT, required=False, aliases=("收款账号",)),
    Field("start_date", "起租日期", date, aliases=("合同开始日期",)),
    Field("end_date", "到期日期", date, aliases=("合同结束日期",)),
    Field("annual_rent", "年租金", dec_of(RentContract, "annual_rent")),
    Field("payment_cycle", "付款周期", _enum(Cycle, {"月付": "MONTHLY", "季付": "QUARTERLY",
                                                 "年付": "YEARLY"})),
    Field("payment_timing", "付款方式", _enum(Timing, {"先付": "ADVANCE", "预付": "ADVANCE",
                                                   "后付": "ARREARS"}), required=False),
    Field("escalation", "递增方式", _enum(Escalation, {"不递增": "NONE", "无": "NONE",
                                                   "按比例": "PERCENT", "比例递增": "PERCENT",
                                                   "定额": "STEP", "定额递增": "STEP"}),
          required=False),
    Field("escalation_pct", "年递增率", dec_of(RentContract, "escalation_pct", "0", "100"),
          required=False),
    Field("escalation_step", "年递增额", dec_of(RentContract, "escalation_step"), required=False),
    Field("deposit", "押金", dec_of(RentContract, "deposit"), required=False),
    Field("pass_through", "分摊方式", _enum(PassThrough, {"按租户": "TENANCY", "均摊": "TENANCY",
                                                     "按比例": "RATIO", "约定比例": "RATIO",
                                                     "铁塔承担": "TOWER", "自担": "TOWER"})),
), key=("contract_no",))

PAYMENTS = Schema("rent_payments", "场租付款", (
    Field("payment_no", "付款编号", code_of("reference", 40), aliases=("付款流水号",)),
    Field("contract_no", "合同编号", CONTRACT_NO),
    Field("seq", "期次", partial(v.parse_int, minimum=1, maximum=10000), required=False),
    Field("kind", "类型", _enum(PayKind, {"租金": "RENT", "押金": "DEPOSIT"}), required=False),
    Field("paid_date", "付款日期", date),
    Field("amount", "金额", dec_of(RentPayment, "amount"), required=False),
    Field("reference", "凭证号", code_of("reference", 80), required=False),
), key=("payment_no",))


def err(r, column, zh, en):
    return RowError(r["_row"], column, zh, en)


def contracts_of(records) -> dict:
    """The stored contracts the records name, by number (with their sites)."""
    out = {}
    for part in parts(r["contract_no"] for r in records if r.get("contract_no")):
        out.update({c.contract_no: c for c in RentContract.objects.filter(
            OneOf("contract_no", part)).select_related("site")})
    return out


def check_contracts(records):
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records if r["site_code"]])
    errors = []
    for r in records:
        if r.get("site_code") and r["site_code"] not in sites:
            errors.append(err(r, "site_code", f"站址编码 {r['site_code']} 不存在",
                              f"unknown site_code {r['site_code']}"))
        if r.get("start_date") and r.get("end_date") and r["end_date"] < r["start_date"]:
            errors.append(err(r, "end_date", "到期日期早于起租日期",
                              "end_date is before start_date"))
        esc = r.get("escalation") or "NONE"
        if esc == "PERCENT" and not r.get("escalation_pct"):
            errors.append(err(r, "escalation_pct", "按比例递增须填年递增率",
                              "PERCENT escalation needs escalation_pct"))
        if esc == "STEP" and not r.get("escalation_step"):
            errors.append(err(r, "escalation_step", "定额递增须填年递增额",
                              "STEP escalation needs escalation_step"))
    known = {no: c.site.site_code for no, c in contracts_of(records).items()}
    for r in records:
        was = known.get(r["contract_no"])
        if was and r.get("site_code") and was != r["site_code"]:
            errors.append(err(r, "site_code", f"合同{r['contract_no']}已属于站址{was}",
                              f"contract {r['contract_no']} belongs to site {was}"))
    return errors


def store_contracts(records, user=None, progress=None):
    sites = lookup_ids(Site, "site_code", [r["site_code"] for r in records])
    created = updated = 0
    with transaction.atomic():
        for r in records:
            landlord, _ = Landlord.objects.get_or_create(name=r["landlord"])
            changed = False
            for f in ("bank_name", "bank_account"):
                if r.get(f) and getattr(landlord, f) != r[f]:
                    setattr(landlord, f, r[f])
                    changed = True
            if r.get("landlord_type") and landlord.kind != r["landlord_type"]:
                landlord.kind, changed = r["landlord_type"], True
            if changed:
                landlord.save()
            exists = RentContract.objects.filter(contract_no=r["contract_no"]).exists()
            services.save_contract(
                r["contract_no"], user=user, reason="导入 import",
                site_id=sites[r["site_code"]], landlord=landlord, start_date=r["start_date"],
                end_date=r["end_date"], annual_rent=r["annual_rent"],
                cycle=r["payment_cycle"], timing=r.get("payment_timing") or "ADVANCE",
                escalation=r.get("escalation") or "NONE",
                escalation_pct=r.get("escalation_pct") or 0,
                escalation_step=r.get("escalation_step") or 0,
                deposit=r.get("deposit") or 0, pass_through=r["pass_through"])
            updated += exists
            created += not exists
            if progress:
                progress(1)
    return Counts(created=created, updated=updated)


def check_payments(records):
    contracts = contracts_of(records)
    items, paid, deposits = {}, set(), set()
    for part in parts(c.pk for c in contracts.values()):
        items.update({(i.contract.contract_no, i.seq): i for i in ScheduleItem.objects.filter(
            OneOf("contract_id", part), cancelled=False).select_related("contract")})
        paid |= set(RentPayment.objects.filter(OneOf("contract_id", part))
                    .values_list("item_id", flat=True))
        deposits |= set(RentPayment.objects.filter(OneOf("contract_id", part), kind="DEPOSIT")
                        .values_list("contract_id", flat=True))
    done = {}
    for part in parts(r["payment_no"] for r in records):
        done.update(RentPayment.objects.filter(OneOf("payment_no", part))
                    .values_list("payment_no", "contract__contract_no"))
    errors = []
    in_file = set()
    for r in records:
        c = contracts.get(r["contract_no"])
        if c is None:
            errors.append(err(r, "contract_no", f"合同编号 {r['contract_no']} 不存在",
                              f"unknown contract_no {r['contract_no']}"))
            continue
        if r["payment_no"] in done:
            if done[r["payment_no"]] != r["contract_no"]:
                errors.append(err(r, "payment_no", "付款编号已用于其他合同",
                                  "payment_no already used for another contract"))
            continue   # the same payment again: nothing to do
        if (r.get("kind") or "RENT") == "DEPOSIT":
            if c.pk in deposits or ("D", c.pk) in in_file:
                errors.append(err(r, "kind", f"合同{c.contract_no}押金已付",
                                  f"the deposit of contract {c.contract_no} is already paid"))
            elif not (r.get("amount") or c.deposit):
                errors.append(err(r, "amount", "押金金额为0", "the deposit is 0"))
            in_file.add(("D", c.pk))
            continue
        if not r.get("seq"):
            errors.append(err(r, "seq", "租金付款须填期次", "a rent payment needs seq"))
            continue
        item = items.get((r["contract_no"], r["seq"]))
        if item is None:
            errors.append(err(r, "seq", f"合同{r['contract_no']}没有第{r['seq']}期",
                              f"contract {r['contract_no']} has no item {r['seq']}"))
        elif item.pk in paid:
            errors.append(err(r, "seq", f"第{r['seq']}期已付", f"item {r['seq']} is already paid"))
        else:
            if r.get("amount") is not None and r["amount"] != item.amount:
                errors.append(err(r, "amount", f"金额{r['amount']}与应付{item.amount}不符",
                                  f"amount {r['amount']} differs from the {item.amount} due"))
            if item.pk in in_file:
                errors.append(err(r, "seq", f"第{r['seq']}期在文件中重复付款",
                                  f"item {r['seq']} is paid twice in the file"))
            in_file.add(item.pk)
    return errors


def store_payments(records, user=None, progress=None):
    contracts = contracts_of(records)
    n = services.record_payments([{**r, "contract": contracts[r["contract_no"]]}
                                  for r in records], user=user, reason="导入 import")
    if progress:
        progress(len(records))
    return Counts(created=n, unchanged=len(records) - n)


def export_contracts(user):
    """Contracts with their landlords (bank details included: this export is for the tower's
    staff, whom ``scoped`` limits to their city; operators get nothing from it)."""
    from towerledger.access.models import Role
    from towerledger.access.scope import role_of

    if role_of(user) == Role.OPERATOR:
        return
    qs = scoped(user, RentContract.objects.all()).select_related("site", "landlord")
    for c in qs.order_by("contract_no").iterator(chunk_size=2000):
        lord = c.landlord
        yield {"contract_no": c.contract_no, "site_code": c.site.site_code,
               "landlord": lord.name if lord else "",
               "landlord_type": lord.kind if lord else "",
               "bank_name": lord.bank_name if lord else "",
               "bank_account": lord.bank_account if lord else "",
               "start_date": c.start_date, "end_date": c.end_date,
               "annual_rent": c.annual_rent, "payment_cycle": c.cycle,
               "payment_timing": c.timing, "escalation": c.escalation,
               "escalation_pct": c.escalation_pct, "escalation_step": c.escalation_step,
               "deposit": c.deposit, "pass_through": c.pass_through}


def export_payments(user):
    from towerledger.access.models import Role
    from towerledger.access.scope import role_of

    if role_of(user) == Role.OPERATOR:
        return
    qs = scoped(user, RentPayment.objects.all()).select_related("contract", "item")
    for p in qs.order_by("payment_no").iterator(chunk_size=2000):
        yield {"payment_no": p.payment_no, "contract_no": p.contract.contract_no,
               "seq": p.item.seq if p.item else "", "kind": p.kind, "paid_date": p.paid_date,
               "amount": p.amount, "reference": p.reference}


def _names(schema):
    return tuple(f.name for f in schema.fields)


def authorise_contracts(records, importer):
    return outside_rows(records, importer.user, Site, "site_code")


def authorise_payments(records, importer):
    return outside_rows(records, importer.user, RentContract, "contract_no")


def register_kinds():
    register(Kind(CONTRACTS.kind, CONTRACTS, check_contracts, store_contracts,
                  export_contracts, _names(CONTRACTS),
                  authorise=combine(authorise_contracts,
                                    lambda rs, imp: outside_rows(rs, imp.user, RentContract,
                                                                 "contract_no"))))
    register(Kind(PAYMENTS.kind, PAYMENTS, check_payments, store_payments, export_payments,
                  _names(PAYMENTS), authorise=authorise_payments))
