"""The product's own error pages (404, 403, 500), in the user's language and with the
navigation, instead of Django's (config/urls.py handler404/403/500). A page outside a user's
role answers 404 like one that does not exist (web.tables.roles), so it reads "not found or
not for your role"; 403 is what Django refuses itself (a CSRF failure, PermissionDenied).

Under /api/ the answer is the API's JSON error body, since a program is asking."""

import logging

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader

log = logging.getLogger(__name__)

# the API's error bodies (api.errors): {code, message_zh, message_en}
API = {404: ("NOT_FOUND", "记录不存在或不在您的权限范围内", "no such record within your scope"),
       403: ("FORBIDDEN", "无权访问", "forbidden"),
       500: ("ERROR", "服务器内部错误", "internal server error")}


def _api(request, status):
    if request.path.startswith("/api/"):
        code, zh, en = API[status]
        return JsonResponse({"code": code, "message_zh": zh, "message_en": en}, status=status)
    return None


def not_found(request, exception=None):
    return _api(request, 404) or render(request, "web/404.html", status=404)


def forbidden(request, exception=None):
    return _api(request, 403) or render(request, "web/403.html", status=403)


def csrf_failure(request, reason=""):
    """A form sent without its token (an old tab, a cleared cookie): the 403 page, saying
    to reload the page (settings.CSRF_FAILURE_VIEW)."""
    return _api(request, 403) or render(request, "web/403.html", {"csrf": True}, status=403)


def server_error(request):
    """The 500 page with the navigation when the database still answers, and without it when
    rendering with the request fails too (the error may be the database itself)."""
    api = _api(request, 500)
    if api:
        return api
    try:
        return render(request, "web/500.html", status=500)
    except Exception:  # noqa: BLE001 — the error page must not fail in turn
        log.exception("500 page with navigation failed; the plain one is shown")
        return HttpResponseServerError(loader.get_template("web/500.html").render({}))
