"""Import kind ``conversion_projects`` (转改直项目): projects as the city teams keep them
(CSV in UTF-8 or GBK, XLSX; Chinese or English headers). Every bad row at once (row,
column, reason in zh + en); a clerk only accounts of their city; natural key project_code
(re-importing a file changes nothing). A row moves its project forward through the same
steps as the pages (submitted → approved → built → done / failed, each dated, with the
import as the reason); a project never moves back."""

from django.utils import timezone

from towerledger.access.scope import scoped
from towerledger.db.bulk import Counts, lookup_ids
from towerledger.domain import conversion as rules
from towerledger.domain.codes import InvoiceType, SupplyMode
from towerledger.exchange.authorise import outside_rows
from towerledger.exchange.registry import Kind, register
from towerledger.importers import values as v
from towerledger.importers.schema import Field, RowError, Schema, code, dec_of, enum
from towerledger.programs.conversion import services
from towerledger.programs.conversion.models import Project
from towerledger.sites.models import SupplyAccount

_STATUS = {**{s: s for s in rules.STATES}, **{zh: s for s, (zh, _) in rules.STATE_LABELS.items()},
           **{en: s for s, (_, en) in rules.STATE_LABELS.items()}, "完成": rules.DONE,
           "失败": rules.FAILED, "提交": rules.SUBMITTED, "批准": rules.APPROVED,
           "施工完成": rules.BUILT}
DATE_OF = {rules.APPROVED: "approved_on", rules.BUILT: "built_on", rules.DONE: "done_on",
           rules.FAILED: "failed_on"}
STEP_TO = {rules.APPROVED: "approve", rules.BUILT: "build", rules.DONE: "complete",
           rules.FAILED: "fail"}
PATH = {rules.SUBMITTED: [], rules.APPROVED: [rules.APPROVED],
        rules.BUILT: [rules.APPROVED, rules.BUILT],
        rules.DONE: [rules.APPROVED, rules.BUILT, rules.DONE]}


def status_cell(cell) -> str:
    s = v.clean_text(cell)
    found = _STATUS.get(s) or _STATUS.get(s.upper()) or _STATUS.get(s.lower())
    if found is None:
        raise v.BadValue(f"无效的项目状态：{s}（已提交/已批准/已施工/已完成/未成功）",
                         f"unknown status {s} (SUBMITTED, APPROVED, BUILT, DONE, FAILED)")
    return found


PROJECTS = Schema("conversion_projects", "转改直项目", (
    Field("project_code", "项目编号", code, aliases=("转改直编号",)),
    Field("account_no", "电表户号", code, aliases=("户号", "报账点编码")),
    Field("status", "项目状态", status_cell, aliases=("状态",)),
    Field("estimated_cost", "预计改造费用", dec_of(Project, "estimated_cost"), required=False,
          aliases=("预计费用", "估算费用")),
    Field("actual_cost", "实际改造费用", dec_of(Project, "actual_cost"), required=False,
          aliases=("实际费用", "改造费用")),
    Field("price_before", "改造前单价", dec_of(Project, "price_before"), required=False),
    Field("direct_price", "直供电价", dec_of(Project, "direct_price"), required=False,
          aliases=("改造后单价",)),
    Field("new_invoice_type", "改造后票据类型", enum(InvoiceType), required=False),
    Field("submitted_on", "提交日期", v.parse_date, aliases=("申报日期",)),
    Field("approved_on", "批准日期", v.parse_date, required=False),
    Field("built_on", "施工完成日期", v.parse_date, required=False),
    Field("done_on", "转直日期", v.parse_date, required=False, aliases=("完成日期",)),
    Field("failed_on", "失败日期", v.parse_date, required=False),
    Field("note", "备注", v.text, required=False),
), key=("project_code",), notes=(
    "状态为已批准及以后的须填批准日期；已施工及以后的须填施工完成日期；已完成须填转直日期；"
    "未成功须填失败日期。转直日期次日起该户号按直供电计（按日期记入供电方式、票据类型、合同单价；"
    "此前期间的缴费单仍按转供电）。"
    "改造前单价留空取最近缴费单单价；直供电价留空取本省直供目录电价。",
    "From APPROVED on, approved_on is required; from BUILT on, built_on; DONE needs done_on, "
    "FAILED failed_on. From done_on the account is direct supply (its supply "
    "mode, invoice type and contract price dated from then; bills of earlier periods stay "
    "resupply). Empty price_before: the last bill's "
    "unit price; empty direct_price: the province's direct catalogue price.",
))

NAMES = tuple(f.name for f in PROJECTS.fields)


def err(r, column, zh, en):
    return RowError(r["_row"], column, zh, en)


def check(records) -> list[RowError]:
    today = timezone.localdate()
    accounts = {a["account_no"]: a for a in SupplyAccount.objects.filter(
        account_no__in=[r["account_no"] for r in records if r.get("account_no")]).values(
        "pk", "account_no", "supply_mode")}
    existing = {p["code"]: p for p in Project.objects.filter(
        code__in=[r["project_code"] for r in records if r.get("project_code")]).values(
        "code", "status", "account__account_no")}
    live = {acc: c for acc, c in Project.objects.exclude(status=rules.FAILED).filter(
        account__account_no__in=list(accounts)).values_list("account__account_no", "code")}
    errors = []
    for r in records:
        if r.get("_bad"):
            continue
        acc, old = accounts.get(r["account_no"]), existing.get(r["project_code"])
        if acc is None:
            errors.append(err(r, "account_no", f"户号 {r['account_no']} 不存在（请先导入户号）",
                              f"unknown account_no {r['account_no']} (import accounts first)"))
            continue
        if old is not None:
            if old["account__account_no"] != r["account_no"]:
                errors.append(err(r, "account_no", f"项目 {r['project_code']} 属于户号 "
                                  f"{old['account__account_no']}", f"project {r['project_code']}"
                                  f" belongs to account {old['account__account_no']}"))
            if old["status"] != r["status"] and (
                    old["status"] in (rules.DONE, rules.FAILED)
                    or r["status"] not in (rules.FAILED, *PATH_AFTER(old["status"]))):
                errors.append(err(r, "status", f"项目状态不能从 {old['status']} 改为 {r['status']}",
                                  f"a project cannot go from {old['status']} to {r['status']}"))
        else:
            if acc["supply_mode"] != SupplyMode.RESUPPLY:
                errors.append(err(r, "account_no", f"户号 {r['account_no']} 不是转供电",
                                  f"account {r['account_no']} is not resupplied"))
            if r["account_no"] in live and live[r["account_no"]] != r["project_code"]:
                errors.append(err(r, "account_no", f"户号已有转改直项目 {live[r['account_no']]}",
                                  f"the account already has project {live[r['account_no']]}"))
        needed = [DATE_OF[s] for s in PATH.get(r["status"], [])]
        if r["status"] == rules.FAILED:
            needed = ["failed_on"]
        previous = r["submitted_on"]
        for column in needed:
            if not r.get(column):
                errors.append(err(r, column, f"状态为 {r['status']} 时须填写", f"required for "
                                  f"status {r['status']}"))
            elif r[column] < previous:
                errors.append(err(r, column, "日期早于上一步", "date before the previous step"))
            elif r[column] > today:
                errors.append(err(r, column, "日期不能晚于今天", "date after today"))
            else:
                previous = r[column]
    return errors


def PATH_AFTER(status: str) -> list[str]:  # noqa: N802 - a table read as a function
    order = [rules.SUBMITTED, rules.APPROVED, rules.BUILT, rules.DONE]
    return order[order.index(status) + 1:] if status in order else []


def authorise(records, importer) -> list[RowError]:
    return outside_rows(records, importer.user, SupplyAccount, "account_no")


def store(records, user=None, progress=None) -> Counts:
    """Each row through the services (one project at a time: a file holds hundreds of
    projects, each step with its own audit record)."""
    counts = Counts()
    accounts = lookup_ids(SupplyAccount, "account_no", [r["account_no"] for r in records])
    by_pk = {a.pk: a for a in SupplyAccount.objects.filter(pk__in=accounts.values())}
    reason = "导入 import"
    for r in records:
        p = Project.objects.filter(code=r["project_code"]).first()
        created, changed = p is None, False
        if created:
            p = services.submit(user, by_pk[accounts[r["account_no"]]], reason=reason,
                                submitted_on=r["submitted_on"], code=r["project_code"],
                                estimated_cost=r.get("estimated_cost"),
                                direct_price=r.get("direct_price"),
                                price_before=r.get("price_before"),
                                new_invoice_type=r.get("new_invoice_type")
                                or InvoiceType.SPECIAL_13, note=r.get("note") or "")
        elif r.get("estimated_cost") is not None and r["estimated_cost"] != p.estimated_cost \
                and p.status in rules.OPEN:
            Project.objects.filter(pk=p.pk).update(estimated_cost=r["estimated_cost"])
            changed = True
        if r["status"] == rules.FAILED:
            steps = [rules.FAILED] if p.status in rules.OPEN else []
        else:
            steps = [t for t in PATH[r["status"]] if t in PATH_AFTER(p.status)]
        for target in steps:
            p = services.advance(user, p, STEP_TO[target], reason=reason,
                                 on=r[DATE_OF[target]],
                                 actual_cost=r.get("actual_cost")
                                 if target in (rules.DONE, rules.FAILED) else None)
            changed = True
        if created:
            counts.created += 1
        elif changed:
            counts.updated += 1
        else:
            counts.unchanged += 1
        if progress:
            progress(1)
    return counts


def export_rows(user):
    qs = scoped(user, Project.objects.all()).order_by("code")
    for p in qs.values_list("code", "account__account_no", "status", "estimated_cost",
                            "actual_cost", "price_before", "direct_price", "new_invoice_type",
                            "submitted_on", "approved_on", "built_on", "done_on", "failed_on",
                            "note").iterator(chunk_size=5000):
        yield dict(zip(NAMES, p, strict=True))


def register_kinds():
    register(Kind(PROJECTS.kind, PROJECTS, check, store, export_rows, NAMES,
                  authorise=authorise))
