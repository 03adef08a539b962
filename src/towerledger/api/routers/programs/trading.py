"""Read endpoints of market trading (市场化交易), scoped like every other:

* ``GET /v1/trading/contracts``  contracts with their enrolled accounts (staff)
* ``GET /v1/trading/savings``    realised savings by month and by account, site, city and
  operator (everyone: an operator gets only its own share, never an account or a price)
"""

from datetime import date
from decimal import Decimal

from ninja import Field, Query, Router, Schema

from towerledger.access.models import Role
from towerledger.access.scope import role_of, scoped
from towerledger.api.errors import ApiError, ErrorOut
from towerledger.api.routers.programs.conversion import SavingsFilter, month_range
from towerledger.programs.trading import report
from towerledger.programs.trading.models import Contract, Enrolment
from towerledger.sites.models import SupplyAccount

PREFIX = "/v1/trading"
router = Router(tags=["trading"])
STAFF = (Role.PROVINCE_ADMIN, Role.CITY_CLERK, Role.VIEWER)


class ContractOut(Schema):
    contract_no: str
    year: int
    trader: str
    start: date
    end: date
    catalogue_price: Decimal
    discount: Decimal | None
    traded_price: Decimal | None
    tolerance: Decimal
    accounts: list[str] = Field(..., description="enrolled accounts within your scope")




class Part(Schema):
    key: str
    saving: Decimal


class TradingMonthSavingOut(Schema):
    month: date
    saving: Decimal


class TradingSavingsOut(Schema):
    total: Decimal
    months: list[TradingMonthSavingOut]
    by_account: list[Part]
    by_site: list[Part]
    by_city: list[Part]
    by_operator: list[Part] = Field(..., description="key '' is the tower-borne part")


@router.get("/contracts", response={200: list[ContractOut], 403: ErrorOut},
            summary="Trading contracts and their enrolled accounts (交易合同)")
def contracts(request):
    if role_of(request.auth_user) not in STAFF:
        raise ApiError(403)
    accounts = scoped(request.auth_user, SupplyAccount.objects.all())
    enrolled: dict[int, list[str]] = {}
    for cid, no in Enrolment.objects.filter(account__in=accounts).order_by(
            "account__account_no").values_list("contract_id", "account__account_no"):
        enrolled.setdefault(cid, []).append(no)
    out = []
    for c in Contract.objects.order_by("-year", "code"):
        if role_of(request.auth_user) == Role.CITY_CLERK and c.pk not in enrolled:
            continue
        out.append({"contract_no": c.code, "year": c.year, "trader": c.trader,
                    "start": c.start, "end": c.end, "catalogue_price": c.catalogue_price,
                    "discount": c.discount, "traded_price": c.traded_price,
                    "tolerance": c.tolerance, "accounts": enrolled.get(c.pk, [])})
    return out


@router.get("/savings", response={200: TradingSavingsOut, 403: ErrorOut, 422: ErrorOut},
            summary="Realised market-trading savings (operators: their share)")
def savings(request, filters: Query[SavingsFilter]):
    if role_of(request.auth_user) is None:
        raise ApiError(403)
    first, last = month_range(filters)
    b = report.breakdown(request.auth_user, first, last)

    def parts(rows):
        return [{"key": k, "saving": v} for k, v in rows]

    return {"total": b["total"],
            "months": [{"month": m, "saving": s} for m, s in
                       report.monthly_savings(request.auth_user, first, last).items()],
            "by_account": parts(b["account"]), "by_site": parts(b["site"]),
            "by_city": parts(b["city"]), "by_operator": parts(b["operator"])}
