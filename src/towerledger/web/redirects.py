"""Where a form goes back to: the ``next`` it carries, only if it is a page of this site."""

from django.utils.http import url_has_allowed_host_and_scheme


def back(request, default: str) -> str:
    """``next`` from the POST (else the query string) when it stays on this host and scheme
    (no ``https://elsewhere/``, no ``//elsewhere``, no ``javascript:``); else ``default``."""
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return default
