"""Template context: the navigation a user's role allows, and their scope in words."""

from django.urls import reverse
from django.utils.translation import gettext as _

from towerledger.access.models import Role
from towerledger.access.scope import can_change, profile_of, role_of

# The role groups every page names (one definition): who changes, who sees the tower side,
# and everybody
CLERKS = (Role.PROVINCE_ADMIN, Role.CITY_CLERK)
STAFF = (Role.PROVINCE_ADMIN, Role.CITY_CLERK, Role.VIEWER)
EVERYONE = (*STAFF, Role.OPERATOR)


def nav_items(request, role):
    items = [("home", _("Home"), None), ("dashboard", _("Dashboard"), None),
             ("sites", _("Sites"), None),
             ("tenancies", _("Tenancies"), None), ("accounts", _("Supply accounts"), STAFF),
             ("tax_factors", _("Tax-factor table"), STAFF),
             ("bills", _("Bills"), STAFF), ("flags", _("Audit queue"), STAFF),
             ("audit_settings", _("Audit rules"), (Role.PROVINCE_ADMIN,)),
             ("lines", _("Pending lines"), None), ("disputes", _("Dispute desk"), CLERKS),
             ("ledger", _("Site ledger"), None),
             ("statements", _("Statements"), None), ("receipts", _("Receipts"), None),
             ("ageing", _("Ageing"), None),
             ("reconcile", _("Electronic reconciliation"), (Role.OPERATOR, *CLERKS)),
             ("report", _("Reports"), None), ("programs", _("Programs"), None),
             ("month_close", _("Month close"),
                                              (Role.PROVINCE_ADMIN,)),
             ("imports", _("Import"), CLERKS), ("audit_log", _("Audit log"),
                                                (Role.PROVINCE_ADMIN,)),
             ("people", _("People and access"), (Role.PROVINCE_ADMIN,))]
    path = request.path
    out = []
    for name, label, allowed in items:
        if allowed and role not in allowed:
            continue
        url = reverse(name, args=["kpi"]) if name == "report" else reverse(name)
        active = path == url if name == "home" else path.startswith(
            "/reports/" if name == "report" else url)
        out.append({"url": url, "label": label, "active": active})
    return out


def scope_label(user, role) -> str:
    profile = profile_of(user)
    parts = [str(Role(role).label) if role else ""]
    if profile and profile.operator_id:
        parts.append(profile.operator.name)
    if profile and profile.city_id:
        parts.append(profile.city.name)
    return " · ".join(p for p in parts if p)


def navigation(request):
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {}
    role = role_of(user)
    return {"user_role": role, "user_can_change": can_change(user),
            "nav_items": nav_items(request, role), "scope_label": scope_label(user, role)}
