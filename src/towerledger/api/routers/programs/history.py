"""Read endpoints of the history program, scoped like every other."""

from ninja import Router

PREFIX = "/v1/history"
router = Router(tags=["history"])
