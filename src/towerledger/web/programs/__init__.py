"""The programs' pages (DOMAIN.md §7), one module each, and their hub (专项 /programs/).

Each module defines ``urlpatterns`` (included by ``web.urls``; every path under
``programs/<name>/``, the hub's own ``/programs/`` beside them) and ``HUB``: the hub's entries
for it, ``(url name, 中文, English, roles or None for all)``. Where a program's pages lived
before (``/theft/``, ``/generator/`` …) answers with a permanent redirect: ``MOVED``."""

from importlib import import_module

MODULES = ("theft", "conversion", "trading", "rent", "decommission", "quality", "generator",
           "accruals", "history")

# old first path segment → the new path under /programs/ (web.urls routes them to hub.moved)
MOVED = {"theft": "theft", "savings": "savings", "conversion": "conversion",
         "trading": "trading", "decommissions": "decommission", "quality": "quality",
         "generator": "generator", "accruals": "accruals"}


def modules():
    return [import_module(f"towerledger.web.programs.{name}") for name in MODULES]
