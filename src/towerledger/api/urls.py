"""The JSON API for other systems (``/api/v1/…``), mounted at ``api/`` by config/urls.py.

Every operation needs a bearer token or a logged-in session (``auth.AUTH``) and reads through
the caller's scope (``scoping``). The OpenAPI document is ``/api/v1/openapi.json``, the docs
``/api/v1/docs`` (served offline, see ``docs``).
"""

from ninja import NinjaAPI

from towerledger.api import errors
from towerledger.api.auth import AUTH
from towerledger.api.docs import OfflineSwagger
from towerledger.api.routers import (
    accounts,
    bills,
    corrections,
    lines,
    me,
    sites,
    statements,
    tax_factors,
    tenancies,
)
from towerledger.api.routers.programs import routers as program_routers

api = NinjaAPI(
    title="towerledger API",
    version="1",
    description="铁塔电费管理 JSON API. See docs/api.md. 令牌: `Authorization: Bearer <token>`.",
    urls_namespace="api",
    auth=AUTH,
    openapi_url="/v1/openapi.json",
    docs_url="/v1/docs",
    docs=OfflineSwagger(),
)
errors.install(api)  # incl. the services' refusals (DomainError), by errors.DOMAIN_ERRORS

api.add_router("/v1/me", me.router)
api.add_router("/v1/sites", sites.router)
api.add_router("/v1/tenancies", tenancies.router)
api.add_router("/v1/accounts", accounts.router)
api.add_router("/v1/tax-factors", tax_factors.router)
api.add_router("/v1/bills", bills.router)
api.add_router("/v1/lines", lines.router)
api.add_router("/v1/disputes", lines.disputes_router)
api.add_router("/v1/statements", statements.router)
api.add_router("/v1/receipts", statements.receipts_router)
api.add_router("/v1/corrections", corrections.router)
for prefix, router in program_routers():   # the programs' (api.routers.programs)
    api.add_router(prefix, router)
