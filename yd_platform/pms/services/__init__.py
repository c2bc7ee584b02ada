"""The service functions, one per PMS service, registered by id.

Each takes a `ServiceContext` and returns a small dict of its own figures; alerts,
notices and row counts go through the context, so the runner can summarise any service
the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

SERVICES: dict[str, Callable] = {}
MODULES = ("material", "progress", "production", "issues", "health", "finance", "sales", "alerting")


def service(service_id: str):
    def register(func: Callable) -> Callable:
        SERVICES[service_id] = func
        return func
    return register


def service_function(service_id: str) -> Callable:
    if not SERVICES:
        for name in MODULES:
            importlib.import_module(f"{__name__}.{name}")
    try:
        return SERVICES[service_id]
    except KeyError:
        raise KeyError(f"no function registered for PMS service {service_id!r}") from None
