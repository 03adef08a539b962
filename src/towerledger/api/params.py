"""The API's query parameter types, in one place: a value that cannot be what it names is a
422 with the bilingual body (``errors.install``), never a server error.

The plain parsers are the pages' too (``domain.params``), so a month or a day means the same on
both. Declared as annotated types, they keep the OpenAPI document exact (a month is a string
with its pattern) while the endpoint receives a ``date`` or an aware UTC ``datetime``.
"""

import re
from datetime import UTC, date, datetime
from typing import Annotated

from django.utils import timezone
from pydantic import AfterValidator, BeforeValidator, Field

from towerledger.domain.params import MAX_YEAR, MIN_YEAR, BadParameter, parse_month

# the pattern says what parse_month accepts: years MIN_YEAR..MAX_YEAR (1900–2999)
MONTH_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
# "+08:00" sent unescaped in a query string arrives as " 08:00": give the plus back
UNESCAPED_PLUS = re.compile(r"(T[0-9:.]+) ([0-9]{2}(:?[0-9]{2})?)$")


def _in_years(value, name: str):
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadParameter(name, f"年份须在 {MIN_YEAR}–{MAX_YEAR} 之间",
                           f"the year must be {MIN_YEAR}–{MAX_YEAR}")
    return value


def _restore_plus(value):
    if isinstance(value, str):
        return UNESCAPED_PLUS.sub(r"\1+\2", value.strip())
    return value


def _utc(moment: datetime) -> datetime:
    """An aware moment in UTC: a naive one is read in the server's time zone (Asia/Shanghai
    by default); an offset anywhere from −23:59 to +23:59 is honoured."""
    _in_years(moment, "timestamp")
    try:
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise BadParameter("timestamp", "时间超出范围", "the moment is out of range") from None


Month = Annotated[str, Field(pattern=MONTH_PATTERN, description="YYYY-MM",
                             examples=["2024-05"]),
                  AfterValidator(lambda text: parse_month(text))]
Day = Annotated[date, AfterValidator(lambda d: _in_years(d, "date"))]
Moment = Annotated[datetime, BeforeValidator(_restore_plus), AfterValidator(_utc)]

MAX_OFFSET = 1_000_000_000     # rows to skip: beyond any table here, within every backend
