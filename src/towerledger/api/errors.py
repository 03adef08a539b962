"""API errors as data: every error body is ``{code, message_zh, message_en}`` (+ ``errors``).

The codes are an enum so the API, its documentation and the tests say the same thing. A
service's refusal (``DomainError``) is answered from one table, ``DOMAIN_ERRORS``: its
``ErrorCode`` gives the HTTP status and the API code, its own reason gives the messages.
"""

from enum import StrEnum

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from towerledger.domain.errors import DomainError, ErrorCode


class Code(StrEnum):
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    CONFLICT = "CONFLICT"
    LOCKED = "LOCKED"
    THROTTLED = "THROTTLED"
    ERROR = "ERROR"


MESSAGES = {
    Code.UNAUTHORIZED: ("未认证：缺少、无效或已吊销的令牌，或未登录",
                        "not authenticated: missing, invalid or revoked token, or no session"),
    Code.FORBIDDEN: ("无权访问此类数据", "your role may not read this kind of record"),
    Code.NOT_FOUND: ("记录不存在或不在您的权限范围内", "no such record within your scope"),
    Code.INVALID: ("请求参数有误", "invalid request parameters"),
    Code.CONFLICT: ("当前状态不允许此操作", "not allowed in the record's present state"),
    Code.LOCKED: ("该月份已关账", "the month is closed"),
    Code.THROTTLED: ("请求过于频繁", "too many requests"),
    Code.ERROR: ("请求失败", "request failed"),
}

STATUS_CODES = {401: Code.UNAUTHORIZED, 403: Code.FORBIDDEN, 404: Code.NOT_FOUND,
                422: Code.INVALID, 429: Code.THROTTLED}

# ErrorCode of a service's refusal → (HTTP status, API code); a record outside the caller's
# scope answers exactly like one that does not exist
DOMAIN_ERRORS: dict[ErrorCode, tuple[int, Code]] = {
    ErrorCode.INVALID: (400, Code.INVALID),
    ErrorCode.FORBIDDEN: (403, Code.FORBIDDEN),
    ErrorCode.NOT_FOUND: (404, Code.NOT_FOUND),
    ErrorCode.OUT_OF_SCOPE: (404, Code.NOT_FOUND),
    ErrorCode.CONFLICT: (409, Code.CONFLICT),
    ErrorCode.ILLEGAL_TRANSITION: (409, Code.CONFLICT),
    ErrorCode.LOCKED: (409, Code.LOCKED),
    ErrorCode.BUSY: (409, Code.CONFLICT),
    ErrorCode.UNBALANCED: (409, Code.CONFLICT),
}


class ErrorOut(Schema):
    code: Code
    message_zh: str
    message_en: str
    errors: list[dict] | None = None


class ApiError(HttpError):
    """Raise from an endpoint: ``raise ApiError(404)``; the message comes from the code."""

    def __init__(self, status_code: int, code: Code | None = None):
        self.code = code or STATUS_CODES.get(status_code, Code.ERROR)
        super().__init__(status_code, MESSAGES[self.code][1])


def body(code: Code, errors=None) -> dict:
    zh, en = MESSAGES[code]
    out = {"code": code.value, "message_zh": zh, "message_en": en}
    if errors is not None:
        out["errors"] = errors
    return out


def body_of(exc: DomainError) -> tuple[int, dict]:
    """(HTTP status, error body) of a service's refusal: the code's, with its own reason."""
    status, code = DOMAIN_ERRORS[exc.code]
    return status, {"code": code.value, "message_zh": exc.zh, "message_en": exc.en}


def install(api):
    """Replace ninja's ``{"detail": …}`` errors with the bilingual, coded body."""

    def respond(request, status, code, errors=None, headers=None):
        response = api.create_response(request, body(code, errors), status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @api.exception_handler(AuthenticationError)
    def unauthorized(request, exc):
        return respond(request, 401, Code.UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        code = getattr(exc, "code", None) or STATUS_CODES.get(exc.status_code, Code.ERROR)
        return respond(request, exc.status_code, code)

    @api.exception_handler(DomainError)
    def refused(request, exc):
        status, out = body_of(exc)
        return api.create_response(request, out, status=status)

    @api.exception_handler(ValidationError)
    def invalid(request, exc):
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""),
                   "type": e.get("type", "")} for e in exc.errors]
        return respond(request, 422, Code.INVALID, errors)

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return respond(request, 404, Code.NOT_FOUND)

    @api.exception_handler(ObjectDoesNotExist)
    def does_not_exist(request, exc):
        return respond(request, 404, Code.NOT_FOUND)
