"""Every response and filter schema of the API has a name of its own: the OpenAPI document
keys its components by class name, so two classes of one name (a program's CaseOut beside
another's) would silently document one route with the other's fields."""

import importlib
import inspect
import pkgutil
from collections import defaultdict

from ninja import Schema

import towerledger.api


def test_schema_class_names_are_unique():
    seen = defaultdict(set)
    for info in pkgutil.walk_packages(towerledger.api.__path__, "towerledger.api."):
        module = importlib.import_module(info.name)
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Schema) and obj is not Schema and obj.__module__ == info.name:
                seen[obj.__name__].add(f"{obj.__module__}.{name}")
    clashes = {name: sorted(where) for name, where in seen.items() if len(where) > 1}
    assert not clashes, clashes
