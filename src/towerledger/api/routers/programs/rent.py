"""Read endpoints of the rent program, scoped like every other."""

from ninja import Router

PREFIX = "/v1/rent"
router = Router(tags=["rent"])
