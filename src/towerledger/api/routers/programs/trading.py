"""Read endpoints of the trading program, scoped like every other."""

from ninja import Router

PREFIX = "/v1/trading"
router = Router(tags=["trading"])
