"""One domain error type: a code from the enum, a Chinese and an English reason; the apps'
error classes are kinds of it, and the API answers each code with one status and one code."""

import pickle

import pytest

from towerledger.analysis.close import CloseError
from towerledger.api.errors import DOMAIN_ERRORS, Code, body_of
from towerledger.bills.services import ServiceError
from towerledger.collection.services import CollectionError
from towerledger.domain.audits import ConfigError, configure
from towerledger.domain.errors import EN, ZH, DomainError, ErrorCode
from towerledger.settlement.services import SettlementError


def test_a_domain_error_says_both_languages_and_carries_its_code():
    exc = DomainError("该争议已处理", "the dispute has already been answered", "conflict")
    assert str(exc) == "该争议已处理 / the dispute has already been answered"
    assert exc.code is ErrorCode.CONFLICT and exc.code == "conflict"
    assert exc.args == ("the dispute has already been answered",)
    assert exc.message("en-us") == exc.en and exc.message("zh-hans") == exc.zh
    assert exc.message(None) == exc.zh


def test_without_messages_the_codes_own_are_used_and_the_default_code_is_invalid():
    assert DomainError().code is ErrorCode.INVALID
    exc = DomainError(code=ErrorCode.LOCKED)
    assert (exc.zh, exc.en) == (ZH[ErrorCode.LOCKED], EN[ErrorCode.LOCKED])
    assert set(ZH) == set(EN) == set(ErrorCode)


def test_an_unknown_code_is_a_programming_error_not_a_silent_invalid():
    with pytest.raises(ValueError):
        DomainError("x", "x", "oops")


@pytest.mark.parametrize("cls", [SettlementError, CollectionError, ServiceError, CloseError,
                                 ConfigError])
def test_every_apps_error_is_a_domain_error_with_the_same_str(cls):
    exc = cls("无权操作", "you may not do this")
    assert isinstance(exc, DomainError)
    assert str(exc) == "无权操作 / you may not do this"
    assert exc.zh == "无权操作" and exc.en == "you may not do this"
    assert isinstance(exc.code, ErrorCode)


def test_the_apps_errors_stay_apart():
    """``except SettlementError`` in a page must not swallow a collection refusal."""
    with pytest.raises(CollectionError):
        try:
            raise CollectionError("回款不存在", "no such receipt", "not_found")
        except SettlementError:   # pragma: no cover - the point is that it does not match
            pytest.fail("a CollectionError is not a SettlementError")


def test_the_raise_sites_string_codes_become_the_enum():
    assert SettlementError("a", "b", "forbidden").code is ErrorCode.FORBIDDEN
    assert CollectionError("a", "b", "not_found").code is ErrorCode.NOT_FOUND


def test_close_error_keeps_its_problems_and_codes():
    exc = CloseError("账务检查未通过，未关账", "the books do not check out; not closed",
                     ["L1 unbalanced"], ErrorCode.UNBALANCED)
    assert exc.problems == ["L1 unbalanced"] and exc.code is ErrorCode.UNBALANCED
    assert CloseError("a", "b").problems == [] and CloseError("a", "b").code is ErrorCode.CONFLICT


def test_config_error_is_still_a_value_error():
    with pytest.raises(ValueError) as caught:
        configure([("NO_SUCH_RULE", None, None, None)])
    assert isinstance(caught.value, ConfigError) and caught.value.code is ErrorCode.INVALID
    assert "NO_SUCH_RULE" in caught.value.zh and "NO_SUCH_RULE" in caught.value.en


def test_a_domain_error_survives_pickling():
    """A refusal crossing a process boundary (a task's result, a worker pool) stays whole."""
    for exc in (SettlementError("已处理", "answered", "conflict"),
                CloseError("未平", "unbalanced", ["p"], ErrorCode.UNBALANCED)):
        back = pickle.loads(pickle.dumps(exc))
        assert (type(back), back.zh, back.en, back.code, back.args) == (
            type(exc), exc.zh, exc.en, exc.code, exc.args)
    assert back.problems == ["p"]


# ---- the API's one table -----------------------------------------------------------------------

def test_every_code_has_one_http_status_and_api_code():
    assert set(DOMAIN_ERRORS) == set(ErrorCode)
    assert DOMAIN_ERRORS[ErrorCode.INVALID] == (400, Code.INVALID)
    assert DOMAIN_ERRORS[ErrorCode.FORBIDDEN] == (403, Code.FORBIDDEN)
    assert DOMAIN_ERRORS[ErrorCode.NOT_FOUND] == (404, Code.NOT_FOUND)
    # out of scope answers exactly like not found (architecture.md, Scope)
    assert DOMAIN_ERRORS[ErrorCode.OUT_OF_SCOPE] == DOMAIN_ERRORS[ErrorCode.NOT_FOUND]
    assert DOMAIN_ERRORS[ErrorCode.CONFLICT] == (409, Code.CONFLICT)
    assert DOMAIN_ERRORS[ErrorCode.ILLEGAL_TRANSITION] == (409, Code.CONFLICT)
    for status, code in DOMAIN_ERRORS.values():
        assert isinstance(code, Code) and 400 <= status < 500


def test_the_api_body_of_a_domain_error():
    status, out = body_of(SettlementError("该争议已处理", "the dispute has already been answered",
                                          "conflict"))
    assert status == 409
    assert out == {"code": "CONFLICT", "message_zh": "该争议已处理",
                   "message_en": "the dispute has already been answered"}
    status, out = body_of(CloseError("之后的月份已关账", "a later month is already closed",
                                     code=ErrorCode.LOCKED))
    assert (status, out["code"]) == (409, "LOCKED")
