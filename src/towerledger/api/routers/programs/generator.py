"""Read endpoints of the generator program, scoped like every other."""

from ninja import Router

PREFIX = "/v1/generator"
router = Router(tags=["generator"])
