"""Query parameters, parsed in one place: a malformed value is a 400 with a bilingual
message naming the parameter, never a server error.

* ``QueryGuard`` (middleware) turns away, for every page and the API alike, a query value
  with a NUL or another control character or longer than ``MAX_VALUE`` characters, a path
  with a NUL, and a form field or JSON string with a NUL: values no filter or text needs
  and PostgreSQL cannot store. It answers a ``BadParameter`` raised by a view with the
  same 400.
* The readers below (``month``, ``day``, ``record_id``, ``text``, ``choice``) are what the
  views call instead of ``request.GET.get`` plus their own try/except. An empty value is
  "not given"; a value that cannot be what the parameter is (``month=0000-01``,
  ``city=abc``, a year 99999, a ``²`` that ``str.isdigit`` would let through) is a
  ``BadParameter``; a well-formed value naming nothing (an unknown operator, a city that
  does not exist) simply matches nothing or is ignored, as the filter's menu would.
* ``parse_month``, ``parse_day`` and ``parse_id`` are plain functions of a string
  (``domain.params``), shared with the API's parameter types (``api.params``).
* ``SiteCodeConverter``: a site page's URL holds any stored code, ``/`` included.
"""

import json
import re
from datetime import date
from urllib.parse import quote, unquote

from django.http import HttpResponse
from django.template.loader import render_to_string

from towerledger.domain.params import (  # noqa: F401  (the pages' names for them)
    ID,
    MAX_YEAR,
    MIN_YEAR,
    BadParameter,
    parse_day,
    parse_id,
    parse_month,
)

MAX_VALUE = 1000                    # characters of any one query value
MAX_TEXT = 200                      # characters of a text filter (code, name, number)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ---- readers of a QueryDict (request.GET or request.POST) ----------------------------------

def _given(params, name: str) -> str:
    return (params.get(name) or "").strip()


def month(params, name: str = "month") -> date | None:
    value = _given(params, name)
    return parse_month(value, name) if value else None


def day(params, name: str) -> date | None:
    value = _given(params, name)
    return parse_day(value, name) if value else None


def record_id(params, name: str) -> int | None:
    value = _given(params, name)
    return parse_id(value, name) if value else None


def ids(params, name: str) -> list[int]:
    """The record numbers of a repeated field (checked boxes): what is not one is dropped,
    as a box the page never drew."""
    return [int(v) for v in params.getlist(name) if ID.fullmatch(v.strip())]


def text(params, name: str, max_length: int = MAX_TEXT) -> str:
    """A text filter, stripped; longer than ``max_length`` is refused rather than cut, so a
    page never claims to filter on something it did not."""
    value = _given(params, name)
    if len(value) > max_length:
        raise BadParameter(name, f"不能超过 {max_length} 个字符",
                           f"at most {max_length} characters")
    return value


def choice(params, name: str, allowed, default: str = "") -> str:
    """One of ``allowed`` (what the filter's menu offers), else ``default``: a value the
    menu does not offer names nothing, so the page shows what it shows without the filter."""
    value = _given(params, name)
    return value if value in allowed else default


# ---- one place that answers a bad parameter ------------------------------------------------

def bad_parameter_response(request, exc: BadParameter) -> HttpResponse:
    """400: the API's coded JSON body under /api/, a page with the message elsewhere."""
    if request.path.startswith("/api/"):
        body = {"code": "INVALID", "message_zh": f"参数 {exc.name} 无效：{exc.zh}",
                "message_en": f"invalid parameter {exc.name}: {exc.en}",
                "errors": [{"loc": ["query", exc.name], "msg": exc.en, "type": "value_error"}]}
        return HttpResponse(json.dumps(body, ensure_ascii=False), status=400,
                            content_type="application/json; charset=utf-8")
    html = render_to_string("web/bad_parameter.html", {"message": exc.message}, request)
    return HttpResponse(html, status=400)


def _nul(name: str) -> BadParameter:
    return BadParameter(name[:40], "含有空字符（NUL）", "holds a NUL character")


def _json_nul(value, name: str = "body") -> BadParameter | None:
    """The first string (or key) of a JSON document holding a NUL."""
    if isinstance(value, str):
        return _nul(name) if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul(key) if "\x00" in key else _json_nul(item, key)
            if found:
                return found
    if isinstance(value, list):
        for item in value:
            if found := _json_nul(item, name):
                return found
    return None


def screen(request) -> BadParameter | None:
    """What is wrong with the request's path, query values or text fields before any view
    reads them. In a form or a JSON body only NUL is refused (a tab or a line break in a
    comment is text); an uploaded file's content is the upload checks' business
    (web.uploads), its form's other fields are screened here."""
    if "\x00" in request.path:
        return BadParameter("path", "路径含有空字符", "the path holds a NUL character")
    for name, values in request.GET.lists():
        for value in values:
            if CONTROL.search(value) or CONTROL.search(name):
                return BadParameter(name[:40], "含有控制字符（如空字符）",
                                    "holds a control character (such as NUL)")
            if len(value) > MAX_VALUE:
                return BadParameter(name[:40], f"超过 {MAX_VALUE} 个字符",
                                    f"longer than {MAX_VALUE} characters")
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, values in request.POST.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return _nul(name)
    elif request.content_type == "application/json" and b"\\u0000" in request.body.lower():
        try:
            document = json.loads(request.body)
        except ValueError:
            return None     # malformed JSON: the API's own 422
        return _json_nul(document)
    return None


class QueryGuard:
    """Middleware: ``screen`` every request; a view's ``BadParameter`` becomes the 400."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = screen(request)
        if refused is not None:
            return bad_parameter_response(request, refused)
        return self.get_response(request)

    def process_exception(self, request, exc):
        if isinstance(exc, BadParameter):
            return bad_parameter_response(request, exc)
        return None


# ---- URLs holding a stored code ------------------------------------------------------------

class SiteCodeConverter:
    """A site code as one path segment, whatever it holds (``/``, ``?``, ``..``, ``%``):
    ``to_url`` escapes every character but letters, digits and ``-_.~``, so the segment never
    holds a ``/``; the server decodes the URL once and ``to_python`` undoes the escaping.
    Plain codes (``ZZ001``) keep their plain URL."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value: str) -> str:
        escaped = quote(str(value), safe="")
        # "." and ".." are path steps to a browser: escape a segment made only of dots
        return escaped.replace(".", "%2E") if not escaped.strip(".") else escaped


def posted_decimal(post, name: str, limit: int = 10**11):
    """A number a form posted (thousands separators allowed), or None when empty; a bad or
    out-of-range one is a bilingual BadParameter naming the field."""
    from decimal import Decimal, InvalidOperation

    value = (post.get(name) or "").strip().replace(",", "")
    if not value:
        return None
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise BadParameter(name, f"{name} 不是数字", f"{name} is not a number") from None
    if not d.is_finite() or abs(d) >= limit:
        raise BadParameter(name, f"{name} 超出范围", f"{name} out of range")
    return d
