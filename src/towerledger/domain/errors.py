"""The one error the services and the domain raise when they refuse: ``DomainError``.

It carries a code from ``ErrorCode`` (what kind of refusal, for programs: the API turns it
into an HTTP status and an API error code in one table, ``api.errors.DOMAIN_ERRORS``) and
the reason in Chinese and English (for people: pages show the one in their language, the
CLI and logs show ``"zh / en"``). The per-app classes (``SettlementError``,
``CollectionError``, ``ServiceError``, ``CloseError``, ``ConfigError``) are subclasses, so
``except SettlementError`` still catches only settlement's refusals.

Pure Python, no Django.
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    """Why a request was refused. Values are the strings the services used before the enum,
    so ``exc.code == "conflict"`` keeps working."""

    INVALID = "invalid"                 # the request itself is wrong (missing reason, bad value)
    NOT_FOUND = "not_found"             # no such record
    OUT_OF_SCOPE = "out_of_scope"       # it exists, but not for you: answered like not_found
    FORBIDDEN = "forbidden"             # your role may not do this
    CONFLICT = "conflict"               # the record's state forbids it now (already answered…)
    ILLEGAL_TRANSITION = "illegal_transition"  # a line event its lifecycle state does not allow
    LOCKED = "locked"                   # a closed month (or a later one) may not change
    BUSY = "busy"                       # the same work is running elsewhere; try again later
    UNBALANCED = "unbalanced"           # the books do not check out


ZH = {
    ErrorCode.INVALID: "请求有误", ErrorCode.NOT_FOUND: "记录不存在",
    ErrorCode.OUT_OF_SCOPE: "记录不存在或不在您的权限范围内", ErrorCode.FORBIDDEN: "无权操作",
    ErrorCode.CONFLICT: "当前状态不允许此操作", ErrorCode.ILLEGAL_TRANSITION: "状态不允许此操作",
    ErrorCode.LOCKED: "该月份已关账", ErrorCode.BUSY: "另一个相同任务正在进行",
    ErrorCode.UNBALANCED: "账务检查未通过",
}
EN = {
    ErrorCode.INVALID: "invalid request", ErrorCode.NOT_FOUND: "no such record",
    ErrorCode.OUT_OF_SCOPE: "no such record within your scope",
    ErrorCode.FORBIDDEN: "you may not do this",
    ErrorCode.CONFLICT: "not allowed in the record's present state",
    ErrorCode.ILLEGAL_TRANSITION: "not allowed in this state",
    ErrorCode.LOCKED: "the month is closed", ErrorCode.BUSY: "the same work is already running",
    ErrorCode.UNBALANCED: "the books do not check out",
}


class DomainError(Exception):
    """A refusal: ``code`` (an ``ErrorCode``), ``zh`` and ``en``; ``str()`` is ``"zh / en"``.

    ``DomainError(zh, en, code)`` — the argument order of the classes it replaces, whose
    raise sites all stay as they were. Without messages the code's generic ones are used.
    ``args`` is ``(en,)`` as before, so pickling and old log formats do not change."""

    default_code = ErrorCode.INVALID

    def __init__(self, zh: str | None = None, en: str | None = None,
                 code: ErrorCode | str | None = None):
        self.code = ErrorCode(code) if code is not None else self.default_code
        self.zh = zh if zh is not None else ZH[self.code]
        self.en = en if en is not None else EN[self.code]
        super().__init__(self.en)

    def __str__(self):
        return f"{self.zh} / {self.en}"

    def __repr__(self):
        return f"{type(self).__name__}({self.zh!r}, {self.en!r}, {self.code.value!r})"

    def __reduce__(self):
        # rebuilt from its attributes, whatever arguments a subclass's __init__ takes
        return _rebuilt, (type(self), self.args), self.__dict__

    def message(self, language: str | None) -> str:
        """The reason in the page's language: English for "en…", Chinese otherwise."""
        return self.en if (language or "").startswith("en") else self.zh


def _rebuilt(cls, args):
    return cls.__new__(cls, *args)
