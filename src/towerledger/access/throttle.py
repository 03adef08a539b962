"""Login throttling and the login audit, for every way in: /login/, /admin/login/ and any
other ``authenticate(request, …)``.

Failures are counted per account and per client address. An account with
LOGIN_MAX_FAILURES failures in the window is locked for everybody, whatever their address;
an address with LOGIN_MAX_FAILURES_PER_ADDRESS failures is locked for every account. So one
attacker behind the reverse proxy locks out their own address and the accounts they guess
at, never the other users: behind the proxy the address is the one the proxy saw, read from
TOWERLEDGER_CLIENT_IP_HEADER (settings.py, docs/production.md).

``ThrottledModelBackend`` is Django's ModelBackend that first refuses a locked login, before
any password is checked. The ``user_login_failed`` and ``user_logged_in`` signals
(connected in AccessConfig.ready) record what happened."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from towerledger.access import audit
from towerledger.access.models import LoginFailure

# Set on the request by the backend: the login that was attempted, and whether it was refused.
ATTEMPT = "_towerledger_login_attempt"
REFUSED = "_towerledger_login_refused"


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or behind the configured proxies the entry the
    outermost trusted proxy added to the forwarded header (entries further left are
    whatever the client sent, so they are never trusted)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    header = settings.TOWERLEDGER_CLIENT_IP_HEADER
    if header:
        value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        hops = [h.strip() for h in value.split(",") if h.strip()]
        trusted = max(settings.TOWERLEDGER_TRUSTED_PROXIES, 1)
        if len(hops) >= trusted:
            return hops[-trusted][:64]
    return remote[:64]


def locked(username: str, address: str) -> bool:
    """Whether this account, or this address, has had too many failures in the window."""
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    failures = LoginFailure.objects.filter(at__gte=since)
    if username and failures.filter(username=username).count() >= settings.LOGIN_MAX_FAILURES:
        return True
    return (failures.filter(address=address).count()
            >= settings.LOGIN_MAX_FAILURES_PER_ADDRESS)


class ThrottledModelBackend(ModelBackend):
    """The one backend: refuses while the login is locked (PermissionDenied makes
    authenticate() report a failed login), else checks the password as ModelBackend does."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None:  # the CLI and tests may authenticate() without a request
            attempted = (username or kwargs.get("username") or "")[:150]
            setattr(request, ATTEMPT, attempted)
            if locked(attempted, client_address(request)):
                setattr(request, REFUSED, True)
                raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)


def _where(request) -> str:
    return f"from {client_address(request)} via {request.path}" if request.path else \
        f"from {client_address(request)}"


def login_failed(sender, credentials, request=None, **kwargs):
    """A wrong password (counted) or a refusal while locked (logged, not counted, so the
    lock ends when the window passes even if the guessing goes on)."""
    if request is None or not hasattr(request, ATTEMPT):
        return
    username = getattr(request, ATTEMPT)
    if getattr(request, REFUSED, False):
        audit.record(None, "login_refused", "user", username,
                     reason=f"throttled {_where(request)}")
        return
    LoginFailure.objects.create(username=username, address=client_address(request))
    audit.record(None, "login_failed", "user", username, reason=_where(request))


def logged_in(sender, request, user, **kwargs):
    """A login by password (not a session made by a test or a command) is logged, and
    clears the account's failures."""
    if request is None or not hasattr(request, ATTEMPT):
        return
    LoginFailure.objects.filter(username=user.get_username()).delete()
    audit.record(user, "login", "user", user.get_username(), reason=_where(request))
