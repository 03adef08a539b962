"""税负因子表 in the database: the one lookup loaded set-wise, who sees and who writes rows,
and adding or withdrawing a row (dated, in the audit log).

Which row wins is ``domain.tax.TaxFactorTable`` (account override > operator override >
province > all provinces > the formula; the row in force on the bill's period end). A row in
force is never rewritten: a change is a new row with its own date; only a row not yet in
force (``effective_from`` after today) may be changed or withdrawn.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from towerledger.access import audit
from towerledger.access.models import Role
from towerledger.access.scope import profile_of, role_of, scoped
from towerledger.domain.errors import DomainError, ErrorCode
from towerledger.domain.tax import TaxFactorRow, TaxFactorTable
from towerledger.sites.models import AccountSite, SupplyAccount, TaxFactorRate

OBJECT_TYPE = "tax_factor"
KEY_FIELDS = ("effective_from", "province_id", "operator_id", "account_id", "supply_mode",
              "invoice_type")


def load_table(qs: QuerySet | None = None) -> TaxFactorTable:
    """The whole table in one query, indexed for ``lookup`` (the allocation loads it once
    per run, whatever the number of bills)."""
    qs = TaxFactorRate.objects.all() if qs is None else qs
    return TaxFactorTable(
        TaxFactorRow(r["id"], r["effective_from"], r["factor"], r["province_id"],
                     r["operator__code"], r["account_id"], r["supply_mode"], r["invoice_type"])
        for r in qs.values("id", "effective_from", "factor", "province_id", "operator__code",
                           "account_id", "supply_mode", "invoice_type"))


def account_provinces(account_ids) -> dict[int, int]:
    """The province of each account (of the sites it feeds; the first by site code)."""
    out: dict[int, int] = {}
    for account_id, province_id in (AccountSite.objects.filter(account_id__in=list(account_ids))
                                    .order_by("account_id", "-site__site_code")
                                    .values_list("account_id",
                                                 "site__county__city__province_id")):
        out[account_id] = province_id
    return out


# ---- who sees, who writes ----------------------------------------------------------------

def visible(user, qs: QuerySet | None = None) -> QuerySet:
    """Rows ``user`` may read: province admins and viewers all; a city clerk the rows for
    no account or an account of their city; an operator user the rows for no account and
    no other operator (operators never see supply accounts)."""
    qs = TaxFactorRate.objects.all() if qs is None else qs
    if user is None:
        return qs
    role = role_of(user)
    if role in (Role.PROVINCE_ADMIN, Role.VIEWER):
        return qs
    if role == Role.CITY_CLERK:
        accounts = scoped(user, SupplyAccount.objects.all()).values("pk")
        return qs.filter(Q(account__isnull=True) | Q(account__in=accounts))
    if role == Role.OPERATOR:
        own = profile_of(user).operator_id
        return qs.filter(account__isnull=True).filter(Q(operator__isnull=True)
                                                      | Q(operator_id=own))
    return qs.none()


def may_write(user) -> bool:
    """Only a province admin (or the system) writes the table."""
    return user is None or role_of(user) == Role.PROVINCE_ADMIN


def in_force_by(rate_date: date, today: date | None = None) -> bool:
    """A row dated today or earlier is in force (or was): the past, never rewritten."""
    return rate_date <= (today or timezone.localdate())


# ---- one row as plain data -----------------------------------------------------------------

def as_dict(rate: TaxFactorRate) -> dict:
    return {
        "id": rate.pk, "effective_from": rate.effective_from,
        "province": rate.province.name if rate.province_id else None,
        "operator": rate.operator.code if rate.operator_id else None,
        "account_no": rate.account.account_no if rate.account_id else None,
        "supply_mode": rate.supply_mode or None, "invoice_type": rate.invoice_type or None,
        "factor": rate.factor, "ends": rate.factor is None, "note": rate.note,
    }


def key_text(row: dict) -> str:
    """What a row applies to, for the audit log: ``河南省/CMCC/*/*/GENERAL@2024-06-01``."""
    parts = (row.get("province"), row.get("operator"), row.get("account_no"),
             row.get("supply_mode"), row.get("invoice_type"))
    return "/".join(p or "*" for p in parts) + f"@{row['effective_from']}"


# ---- writing --------------------------------------------------------------------------------

def _refuse_unless_admin(user):
    if not may_write(user):
        raise DomainError("只有省管理员可以维护税负因子表",
                          "only a province admin may change the tax-factor table",
                          ErrorCode.FORBIDDEN)


def add_rate(user, *, effective_from: date, factor: Decimal | None, province=None,
             operator=None, account=None, supply_mode: str = "", invoice_type: str = "",
             note: str = "", reason: str, today: date | None = None) -> TaxFactorRate:
    """Add a dated row (``factor`` None: the row ends the key's earlier rows). A row of the
    same key and date is changed only while it is not yet in force."""
    _refuse_unless_admin(user)
    if not (reason or "").strip():
        raise DomainError("请填写原因", "a reason is required")
    if factor is not None and not Decimal(0) <= factor <= Decimal(1):
        raise DomainError("税负因子须在 0 到 100% 之间", "the tax factor must be 0 to 100 %")
    if account is not None:
        own = account_provinces([account.pk]).get(account.pk)
        if province is not None and own is not None and province.pk != own:
            raise DomainError("户号不属于所选省份", "the account is not in that province")
        province_id = own
    else:
        province_id = province.pk if province is not None else None
    key = {"effective_from": effective_from, "province_id": province_id,
           "operator_id": operator.pk if operator is not None else None,
           "account_id": account.pk if account is not None else None,
           "supply_mode": supply_mode or "", "invoice_type": invoice_type or ""}
    with transaction.atomic():
        old = TaxFactorRate.objects.select_for_update().filter(**key).first()
        before = as_dict(old) if old else None
        if old is not None:
            if in_force_by(old.effective_from, today):
                raise DomainError(
                    f"{effective_from} 起的这一行已生效，不能改写；变更请新增一行（新的生效日期）",
                    f"the row in force from {effective_from} cannot be rewritten; add a new "
                    "row with its own date", ErrorCode.CONFLICT)
            old.factor, old.note = factor, note
            old.recorded_by = user if getattr(user, "pk", None) else None
            old.recorded_at = timezone.now()
            old.save()
            rate = old
        else:
            rate = TaxFactorRate.objects.create(
                **key, factor=factor, note=note,
                recorded_by=user if getattr(user, "pk", None) else None)
        after = as_dict(TaxFactorRate.objects.select_related("province", "operator", "account")
                        .get(pk=rate.pk))
        audit.record(user, "tax_factor.change" if before else "tax_factor.add", OBJECT_TYPE,
                     key_text(after), before=before, after=after, reason=reason)
    return rate


def withdraw_rate(user, pk: int, *, reason: str, today: date | None = None) -> None:
    """Remove a row that is not yet in force (a row in force is the past: never removed)."""
    _refuse_unless_admin(user)
    if not (reason or "").strip():
        raise DomainError("请填写原因", "a reason is required")
    with transaction.atomic():
        # of=self: PostgreSQL locks no row of the outer-joined "any" (null) references
        rate = (TaxFactorRate.objects.select_for_update(of=("self",))
                .select_related("province", "operator", "account").filter(pk=pk).first())
        if rate is None:
            raise DomainError(code=ErrorCode.NOT_FOUND)
        if in_force_by(rate.effective_from, today):
            raise DomainError("已生效的行不能撤销；变更请新增一行（新的生效日期）",
                              "a row in force cannot be withdrawn; add a new dated row",
                              ErrorCode.CONFLICT)
        before = as_dict(rate)
        rate.delete()
        audit.record(user, "tax_factor.withdraw", OBJECT_TYPE, key_text(before),
                     before=before, reason=reason)
