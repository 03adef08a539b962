"""The programs in the synthetic province and the demo (DOMAIN.md §7).

``synth.story.replay`` calls these hooks; each program's module defines those it needs:

* ``begin(user, rng, first_month, today)``: before the first month (contracts, agreements,
  a legacy ledger taken over);
* ``month(user, rng, month, today)``: after the month's bills are paid, allocated and
  answered, before its close (outages and runs, cases, payments);
* ``end(user, rng, today)``: after the last month.
"""

from importlib import import_module

MODULES = ("history", "theft", "conversion", "trading", "rent", "decommission", "quality",
           "generator", "accruals")


def _hooks(name: str):
    for module in MODULES:
        hook = getattr(import_module(f"towerledger.synth.programs.{module}"), name, None)
        if hook is not None:
            yield hook


def begin(user, rng, first_month, today):
    for hook in _hooks("begin"):
        hook(user, rng, first_month, today)


def month(user, rng, month, today):
    for hook in _hooks("month"):
        hook(user, rng, month, today)


def end(user, rng, today):
    for hook in _hooks("end"):
        hook(user, rng, today)
