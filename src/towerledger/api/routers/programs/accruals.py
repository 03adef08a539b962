"""Read endpoints of the accruals program, scoped like every other."""

from ninja import Router

PREFIX = "/v1/accruals"
router = Router(tags=["accruals"])
