"""The programs' read endpoints (DOMAIN.md §7), one router module each, mounted by
``api.urls`` at ``/v1/<prefix>``: each module defines ``router`` and ``PREFIX``."""

from importlib import import_module

MODULES = ("theft", "conversion", "trading", "rent", "decommission", "quality", "generator",
           "accruals", "history")


def routers():
    for name in MODULES:
        module = import_module(f"towerledger.api.routers.programs.{name}")
        yield module.PREFIX, module.router
