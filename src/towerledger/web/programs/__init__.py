"""The programs' pages (DOMAIN.md §7), one module each, and their hub (专项 /programs/).

Each module defines ``urlpatterns`` (included at the site's root by ``web.urls``) and
``HUB``: the hub's entries for it, ``(url name, 中文, English, roles or None for all)``."""

from importlib import import_module

MODULES = ("theft", "conversion", "trading", "rent", "decommission", "quality", "generator",
           "accruals", "history")


def modules():
    return [import_module(f"towerledger.web.programs.{name}") for name in MODULES]
