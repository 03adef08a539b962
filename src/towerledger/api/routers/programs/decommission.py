"""Read endpoints of the decommission program, scoped like every other."""

from ninja import Router

PREFIX = "/v1/decommissions"
router = Router(tags=["decommission"])
