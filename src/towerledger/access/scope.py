"""What each user may see. Every list, page, API call and export filters through here.

Scope rules:
* province admin and viewer: the whole province;
* city clerk: records of sites in their city;
* operator user: only their operator's tenancies (and their city's, when set), and only the
  sites on which they hold a tenancy; never supply accounts or other operators' records.
"""

from django.db.models import Q, QuerySet

from towerledger.access.models import Role

# For each model, the lookup from it to (county's city, operator); None = not reachable.
PATHS = {
    "sites.site": ("county__city", "tenancies__operator"),
    "sites.tenancy": ("site__county__city", "operator"),
    "sites.supplyaccount": ("splits__site__county__city", None),
    "sites.accountsite": ("site__county__city", None),
    "sites.allocationrule": ("site__county__city", "site__tenancies__operator"),
    "bills.bill": ("account__splits__site__county__city", None),
    "bills.flag": ("bill__account__splits__site__county__city", None),
    "bills.submeterreading": ("site__county__city", "operator"),
    "bills.meterday": ("site__county__city", None),
    "meters.sitemonth": ("site__county__city", None),
    "meters.theftscore": ("bill__account__splits__site__county__city", None),
    "meters.saving": ("site__county__city", None),
    "settlement.line": ("city", "operator"),
    "settlement.dispute": ("line__city", "line__operator"),
    "collection.statement": ("city", "operator"),
    "collection.receipt": ("city", "operator"),
    "history.legacyrow": ("city", "operator"),
    "history.legacyunapplied": ("city", "operator"),
    "history.collectiontarget": ("city", None),
    "history.drivemonth": ("city", None),
    "decommission.decommissioning": ("site__county__city", None),
    "decommission.caseaccount": ("case__site__county__city", None),
    "decommission.caseevent": ("case__site__county__city", None),
    "quality.qualityscore": ("city", None),
    "theft.case": ("city", None),
    "theft.caserecovery": ("case__city", None),
    "theft.savingsmonth": ("case__city", None),
    "theft.sharecharge": ("line__city", "line__operator"),
    "theft.recoverycredit": ("line__city", "line__operator"),
    "accruals.accrual": ("account__splits__site__county__city", None),
    "accruals.accrualpart": ("site__county__city", None),
    "generator.outage": ("site__county__city", None),
    "generator.run": ("site__county__city", None),
    "generator.finding": ("run__site__county__city", None),
    "generator.monthfigures": ("city", None),
    "conversion.project": ("account__splits__site__county__city", None),
    "conversion.estimate": ("account__splits__site__county__city", None),
    "trading.contract": ("enrolments__account__splits__site__county__city", None),
    "trading.enrolment": ("account__splits__site__county__city", None),
    "rent.landlord": ("contracts__site__county__city", None),
    "rent.rentcontract": ("site__county__city", "site__tenancies__operator"),
    "rent.scheduleitem": ("contract__site__county__city", None),
    "rent.rentpayment": ("contract__site__county__city", None),
    "rent.sitefeeagreement": ("tenancy__site__county__city", "tenancy__operator"),
    "rent.rentfinding": ("contract__site__county__city", None),
    "rent.rentmonth": ("city", None),
}

# Paths that fan out (one row reachable through several sites) need a distinct narrowing.
FAN_OUT = {"sites.site", "sites.supplyaccount", "sites.allocationrule", "bills.bill", "bills.flag",
           "accruals.accrual", "rent.landlord", "rent.rentcontract"}
FAN_OUT |= {"conversion.project", "conversion.estimate", "trading.contract", "trading.enrolment"}


def profile_of(user):
    if not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "profile", None)


def role_of(user) -> str | None:
    if getattr(user, "is_superuser", False):
        return Role.PROVINCE_ADMIN
    profile = profile_of(user)
    return profile.role if profile else None


def scope_filter(user, model_label: str) -> Q | None:
    """A Q limiting ``model_label`` to what ``user`` may see; None means nothing at all.

    ``user`` None is the system itself (a CLI run without --user, a background job).
    """
    if user is None:
        return Q()
    role = role_of(user)
    if role in (Role.PROVINCE_ADMIN, Role.VIEWER):
        return Q()
    city_path, operator_path = PATHS[model_label]
    profile = profile_of(user)
    if role == Role.CITY_CLERK:
        return Q(**{city_path: profile.city_id})
    if role == Role.OPERATOR and operator_path:
        q = Q(**{operator_path: profile.operator_id})
        if profile.city_id:
            q &= Q(**{city_path: profile.city_id})
        return q
    return None


def _fanned(target, rest: str, value):
    """The pks of ``target`` rows with ``rest`` = ``value`` where ``rest`` starts with the
    reverse side of a foreign key (an account's splits): the key column of the related rows
    that match (the splits' ``account_id``), without joining ``target`` itself. None when
    ``rest`` does not start that way."""
    first, _sep, further = rest.partition("__")
    field = target._meta.get_field(first)
    fk = getattr(field, "field", None)
    if field.concrete or not field.one_to_many or not further or fk is None \
            or fk.target_field != target._meta.pk:
        return None
    return field.related_model._base_manager.filter(**{further: value}).values(fk.attname)


def _semi_join(model, q: Q) -> Q | None:
    """The same narrowing as ``q`` (one lookup along a path that fans out) as a semi-join
    past the path's leading many-to-one hops: a bill in a city is a bill whose account is
    among the accounts split to a site of that city — the ``account_id`` of the splits to
    a site of that city. The database then reads the few matching rows through the hops'
    indexes instead of joining the whole table to itself (``pk IN`` the path joined from
    every row), or the accounts to their splits. None when ``q`` is not one plain lookup,
    or the path fans out at once other than by the reverse side of a foreign key."""
    if q.negated or q.connector != Q.AND or len(q.children) != 1 \
            or not isinstance(q.children[0], tuple):
        return None
    path, value = q.children[0]
    parts, target, hops = path.split("__"), model, 0
    while hops < len(parts) - 1:
        field = target._meta.get_field(parts[hops])
        if not field.concrete or not (field.many_to_one or field.one_to_one):
            break
        target, hops = field.related_model, hops + 1
    rest = "__".join(parts[hops:])
    keys = _fanned(target, rest, value)
    if not hops:
        return None if keys is None else Q(pk__in=keys)
    if keys is None:
        keys = target._base_manager.filter(**{rest: value}).values("pk")
    return Q(**{"__".join(parts[:hops]) + "__in": keys})


def scoped(user, qs: QuerySet) -> QuerySet:
    """``qs`` narrowed to the user's scope (distinct where the path fans out)."""
    q = scope_filter(user, qs.model._meta.label_lower)
    if q is None:
        return qs.none()
    if not q:
        return qs
    if qs.model._meta.label_lower in FAN_OUT:
        semi = _semi_join(qs.model, q)
        return qs.filter(semi) if semi is not None else qs.filter(
            pk__in=qs.filter(q).values("pk"))
    return qs.filter(q)


def can_change(user) -> bool:
    """Province admins and city clerks change data; viewers and operators do not (here)."""
    return role_of(user) in (Role.PROVINCE_ADMIN, Role.CITY_CLERK)


def can_admin(user) -> bool:
    return role_of(user) == Role.PROVINCE_ADMIN


# ---- what a user may write through an import or a bulk path -----------------------------
#
# Imports write master data, bills, payments and receipts; only province admins (the whole
# province) and city clerks (their city) do that. Viewers only read; operator users only
# answer for their own lines (confirm, dispute, reconcile) and import nothing.

OUTSIDE_ZH, OUTSIDE_EN = "不在您的范围内", "outside your scope"


def may_import(user) -> bool:
    """Whether ``user`` may import at all (None: the system itself, e.g. a CLI run)."""
    return user is None or role_of(user) in (Role.PROVINCE_ADMIN, Role.CITY_CLERK)


def writes_everywhere(user) -> bool:
    """The system and province admins write anywhere; a clerk only in their city."""
    return user is None or role_of(user) == Role.PROVINCE_ADMIN


def write_city_id(user) -> int | None:
    """The one city a city clerk writes in (None for the system and province admins)."""
    if writes_everywhere(user):
        return None
    profile = profile_of(user)
    return profile.city_id if profile and role_of(user) == Role.CITY_CLERK else None


def writable(user, qs: QuerySet) -> QuerySet:
    """The rows of ``qs`` that ``user`` may change: their scope, and for a record reached
    through several sites (a supply account feeding sites in two cities, its bills) only
    when every one of those sites is in it — changing the record changes them all."""
    if writes_everywhere(user):
        return qs
    if not may_import(user):
        return qs.none()
    label = qs.model._meta.label_lower
    narrowed = scoped(user, qs)
    account_field = {"sites.supplyaccount": "pk", "bills.bill": "account_id"}.get(label)
    if account_field:
        from django.apps import apps

        splits = apps.get_model("sites", "AccountSite").objects
        elsewhere = splits.exclude(site__county__city=write_city_id(user)).values("account_id")
        narrowed = narrowed.exclude(**{f"{account_field}__in": elsewhere})
    return narrowed
