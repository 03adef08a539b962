"""Who is calling: a bearer token (other systems) or the logged-in session (our own pages).

Both set ``request.auth_user``, the user every query is scoped by.
"""

from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth

from towerledger.api.tokens import user_for_token


class BearerToken(HttpBearer):
    """``Authorization: Bearer tl_…`` — an :class:`ApiToken` that is live and whose user is active."""

    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is None:
            # a token was presented and is wrong: refuse, never fall back to the session
            raise AuthenticationError()
        request.auth_user = user
        return user


class LoggedInSession(SessionAuth):
    """The Django session of a logged-in user; ninja checks CSRF on unsafe methods."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            request.auth_user = user
        return user


AUTH = [BearerToken(), LoggedInSession(csrf=True)]
