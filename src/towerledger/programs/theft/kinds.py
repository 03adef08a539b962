"""The theft case list (偷电案件清单) as an import kind: site, account, suspected period,
detection date, who handles it and a note. Upsert by (account, detected_on): a case already
open for that account and date is left as it is (re-importing adds nothing)."""

from towerledger.access.scope import scoped
from towerledger.exchange.registry import Kind, register
from towerledger.importers.schema import Field, RowError, Schema, code, date, name
from towerledger.sites.authorise import by_site

SCHEMA = Schema("theft_cases", "偷电案件", (
    Field("site_code", "站址编码", code),
    Field("account_no", "电表户号", code, aliases=("户号",)),
    Field("suspected_from", "疑似起日", date, aliases=("疑似偷电起始日期",)),
    Field("suspected_to", "疑似止日", date, aliases=("疑似偷电截止日期",)),
    Field("detected_on", "发现日期", date),
    Field("handler", "处理人", name, required=False, aliases=("经办人",)),
    Field("note", "说明", name, required=False, aliases=("备注",)),
), key=("account_no", "detected_on"), notes=(
    "每行登记一个偷电案件（状态：疑似）：站址须由该户号供电；同一户号同一发现日期已有案件时不再新建。"
    "处理人填用户名。",
    "Each row opens a theft case (state: suspected); the account must feed the site; a case "
    "already open for the same account and detection date is kept as it is. handler: a "
    "user name.",
))
FIELDS = tuple(f.name for f in SCHEMA.fields)


def _err(r, column, zh, en):
    return RowError(r["_row"], column, zh, en)


def check(records) -> list[RowError]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from towerledger.sites.models import AccountSite

    today = timezone.localdate()
    feeds = set(AccountSite.objects.filter(
        account__account_no__in={r["account_no"] for r in records}).values_list(
        "account__account_no", "site__site_code"))
    accounts = {a for a, _ in feeds}
    users = set(get_user_model().objects.filter(
        username__in={r["handler"] for r in records if r.get("handler")}).values_list(
        "username", flat=True))
    errors = []
    for r in records:
        if r["account_no"] not in accounts:
            errors.append(_err(r, "account_no", f"未知户号 {r['account_no']}",
                               f"unknown account_no {r['account_no']}"))
        elif (r["account_no"], r["site_code"]) not in feeds:
            errors.append(_err(r, "site_code", f"户号 {r['account_no']} 不供电给 {r['site_code']}",
                               f"{r['account_no']} does not feed {r['site_code']}"))
        if r["suspected_to"] < r["suspected_from"]:
            errors.append(_err(r, "suspected_to", "疑似止日早于起日",
                               "suspected_to is before suspected_from"))
        if r["detected_on"] > today:
            errors.append(_err(r, "detected_on", "发现日期在将来", "detected_on is in the future"))
        if r.get("handler") and r["handler"] not in users:
            errors.append(_err(r, "handler", f"未知用户 {r['handler']}", f"unknown user {r['handler']}"))
    return errors


def store(records, user=None, progress=None):
    from django.contrib.auth import get_user_model

    from towerledger.db.bulk import Counts
    from towerledger.programs.theft.models import Case
    from towerledger.programs.theft.services import open_case
    from towerledger.sites.models import Site, SupplyAccount

    counts = Counts()
    people = {u.username: u for u in get_user_model().objects.filter(
        username__in={r["handler"] for r in records if r.get("handler")})}
    for r in records:
        account = SupplyAccount.objects.get(account_no=r["account_no"])
        if Case.objects.filter(account=account, detected_on=r["detected_on"]).exists():
            counts.unchanged += 1
            continue
        open_case(user, site=Site.objects.select_related("county__city").get(
            site_code=r["site_code"]), account=account, suspected_from=r["suspected_from"],
            suspected_to=r["suspected_to"], detected_on=r["detected_on"],
            source=Case.Source.IMPORT, handler=people.get(r.get("handler")),
            handler_name=r.get("handler") or "", note=r.get("note") or "")
        counts.created += 1
        if progress:
            progress(1)
    return counts


def export(user):
    from towerledger.programs.theft.models import Case

    qs = scoped(user, Case.objects.all()).select_related("site", "account", "handler")
    for c in qs.order_by("case_no").iterator(chunk_size=2000):
        yield {"site_code": c.site.site_code, "account_no": c.account.account_no,
               "suspected_from": c.suspected_from, "suspected_to": c.suspected_to,
               "detected_on": c.detected_on, "handler": c.handler_name, "note": c.note}


register(Kind(SCHEMA.kind, SCHEMA, check, store, export, FIELDS, authorise=by_site()))
