"""Every API query goes through the user's scope (``access.scope``); nothing else reads data."""

from django.db.models import QuerySet

from towerledger.access.scope import scope_filter, scoped
from towerledger.api.errors import ApiError


def visible(request, qs: QuerySet) -> QuerySet:
    """``qs`` within the caller's scope; 403 when the caller's role may not read this kind."""
    if scope_filter(request.auth_user, qs.model._meta.label_lower) is None:
        raise ApiError(403)
    return scoped(request.auth_user, qs)


def visible_one(request, qs: QuerySet, **lookup):
    """The one record of ``qs`` matching ``lookup`` within scope; 404 otherwise.

    Out of scope and nonexistent look the same, so a guessed key reveals nothing.
    """
    obj = scoped(request.auth_user, qs).filter(**lookup).first()
    if obj is None:
        raise ApiError(404)
    return obj
