"""Template context: the navigation a user's role allows."""

from towerledger.access.scope import can_change, role_of


def navigation(request):
    user = getattr(request, "user", None)
    return {"user_role": role_of(user), "user_can_change": can_change(user)}
