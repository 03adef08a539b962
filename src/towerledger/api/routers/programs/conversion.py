"""Read endpoints of the conversion program, scoped like every other."""

from ninja import Router

PREFIX = "/v1/conversions"
router = Router(tags=["conversion"])
