"""GET /api/v1/me: who the caller is and what they may see."""

from ninja import Router

from towerledger.access.models import Role
from towerledger.access.scope import can_change, profile_of, role_of
from towerledger.api.schemas import MeOut

router = Router(tags=["me"])

LEVELS = {Role.PROVINCE_ADMIN: "PROVINCE", Role.VIEWER: "PROVINCE",
          Role.CITY_CLERK: "CITY", Role.OPERATOR: "OPERATOR"}


@router.get("", response=MeOut, summary="The caller, role and scope (当前用户)")
def me(request):
    user = request.auth_user
    role, profile = role_of(user), profile_of(user)
    city = profile.city.name if profile and profile.city_id else None
    operator = profile.operator.code if profile and profile.operator_id else None
    return {"username": user.get_username(), "role": role,
            "scope": {"level": LEVELS.get(role, "NONE"), "city": city, "operator": operator},
            "can_change": can_change(user)}
