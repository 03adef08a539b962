"""Read endpoints of the theft program, scoped like every other."""

from ninja import Router

PREFIX = "/v1/theft"
router = Router(tags=["theft"])
