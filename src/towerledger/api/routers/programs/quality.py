"""Read endpoints of the quality program, scoped like every other."""

from ninja import Router

PREFIX = "/v1/data-quality"
router = Router(tags=["quality"])
