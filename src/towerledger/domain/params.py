"""Query parameter values, parsed the same way on the pages (``web.params``) and in the API
(``api.params``): plain functions of a string; a value that cannot be what it names is a
``BadParameter`` whose message names the parameter in Chinese and English."""

import re
from datetime import date

MIN_YEAR, MAX_YEAR = 1900, 2999     # a month or day outside this is a typing error
ID_DIGITS = 18                      # a bigint has 19 digits: 18 always fit
MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
ID = re.compile(f"[0-9]{{1,{ID_DIGITS}}}")


class BadParameter(ValueError):
    """A query parameter that cannot be what it names; ``zh`` / ``en`` say why."""

    def __init__(self, name: str, zh: str, en: str):
        self.name, self.zh, self.en = name, zh, en
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"参数 {self.name} 无效：{self.zh} / invalid parameter {self.name}: {self.en}"


def _year(name: str, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise BadParameter(name, f"年份须在 {MIN_YEAR}–{MAX_YEAR} 之间",
                           f"the year must be {MIN_YEAR}–{MAX_YEAR}")


def parse_month(value: str, name: str = "month") -> date:
    """The first day of ``YYYY-MM`` (``2024-5`` too)."""
    match = MONTH.fullmatch(value.strip())
    if not match:
        raise BadParameter(name, "月份格式应为 YYYY-MM", "a month is YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    _year(name, year)
    if not 1 <= month <= 12:
        raise BadParameter(name, "月份须在 01–12 之间", "the month must be 01–12")
    return date(year, month, 1)


def parse_day(value: str, name: str) -> date:
    """A ``YYYY-MM-DD`` day."""
    match = DAY.fullmatch(value.strip())
    if not match:
        raise BadParameter(name, "日期格式应为 YYYY-MM-DD", "a date is YYYY-MM-DD")
    _year(name, int(match.group(1)))
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise BadParameter(name, "日期不存在", "no such date") from None


def parse_id(value: str, name: str) -> int:
    """A record's number: ASCII digits only (``str.isdigit`` also passes ``²`` and ``١``)."""
    if not ID.fullmatch(value.strip()):
        raise BadParameter(name, f"应为不超过 {ID_DIGITS} 位的数字编号",
                           f"expected a number of at most {ID_DIGITS} digits")
    return int(value)
