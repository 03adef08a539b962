"""Read endpoints of the data-quality scorecard (资源数据), scoped like every other:

* ``GET /v1/quality/scorecard``  the stored scorecard of a closed month (or the live one:
  no month) per province, city and county: each rule's count, total and rate — tower
  staff; a city clerk sees their city and its counties; operators nothing.
"""

from datetime import date
from decimal import Decimal

from django.utils import timezone
from ninja import Field, Query, Router, Schema

from towerledger.access.models import Role
from towerledger.access.scope import profile_of, role_of
from towerledger.api.errors import ApiError, ErrorOut
from towerledger.api.params import Month
from towerledger.api.scoping import visible
from towerledger.domain import quality as dq
from towerledger.org.models import City, County
from towerledger.programs.quality import services
from towerledger.programs.quality.models import QualityScore

PREFIX = "/v1/quality"
router = Router(tags=["quality"])


class ScoreFilter(Schema):
    month: Month | None = Field(None, description="a closed month (YYYY-MM); none: live")
    level: str | None = Field(None, max_length=1, description="P province, C city, K county")


class ScoreOut(Schema):
    level: str
    city: str | None
    county: str | None
    rule: str
    rule_zh: str
    rule_en: str
    count: int
    total: int
    rate: Decimal = Field(..., description="count ÷ total, %")


class ScorecardOut(Schema):
    month: date | None
    live: bool
    items: list[ScoreOut]


def _out(level, city, county, s: dq.Score) -> dict:
    zh, en, _, _ = dq.RULES[s.rule]
    return {"level": level, "city": city, "county": county, "rule": s.rule, "rule_zh": zh,
            "rule_en": en, "count": s.count, "total": s.total, "rate": s.rate}


@router.get("/scorecard", response={200: ScorecardOut, 403: ErrorOut, 422: ErrorOut},
            summary="Data-quality scorecard (资源数据质量)")
def scorecard(request, filters: Query[ScoreFilter]):
    user = request.auth_user
    qs = visible(request, QualityScore.objects.select_related("city", "county"))
    if role_of(user) == Role.OPERATOR:
        raise ApiError(403)
    if filters.month:
        if filters.level:
            qs = qs.filter(level=filters.level)
        items = [_out(s.level, s.city.name if s.city_id else None,
                      s.county.name if s.county_id else None,
                      dq.Score(s.rule, s.count, s.total))
                 for s in qs.filter(month=filters.month).order_by("level", "city__name",
                                                                  "county__name", "pk")]
        return {"month": filters.month, "live": False, "items": items}
    city_id = profile_of(user).city_id if role_of(user) == Role.CITY_CLERK else None
    cards = services.scorecards(services.live(timezone.localdate(), city_id), city_id)
    cities = dict(City.objects.values_list("pk", "name"))
    counties = dict(County.objects.values_list("pk", "name"))
    items = []
    for (level, city, county), scores in sorted(cards.items(), key=lambda u: (
            "PCK".index(u[0][0]), cities.get(u[0][1], ""), counties.get(u[0][2], ""))):
        if filters.level and level != filters.level:
            continue
        items += [_out(level, cities.get(city), counties.get(county), s) for s in scores]
    return {"month": None, "live": True, "items": items}
