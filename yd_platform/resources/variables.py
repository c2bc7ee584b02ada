"""How the resource modules turn the deployment's variables into resource settings.

A setting that comes from a variable becomes a `dg.EnvVar` field: Dagster reads the
value in each run and the UI shows only the variable's name. Commands and tests outside
a run use a `resolved` copy, whose fields hold the values themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import dagster as dg

from yd_platform.deployment import Variables

R = TypeVar("R", bound=dg.ConfigurableResource)


def env_field(variables: Variables, name: str, purpose: str | None = None,
              embedded: str | Callable[[], str] | None = None) -> dg.EnvVar | str:
    """`dg.EnvVar(name)` when the variable is set. Unset: with a `purpose` the variable is
    required in production (recorded as missing there); otherwise, and embedded, the
    `embedded` stand-in (or "")."""
    if variables.is_set(name):
        return dg.EnvVar(name)
    if purpose is not None:
        return variables.require(name, purpose, embedded)
    return (embedded() if callable(embedded) else embedded) or ""


def resolved(resource: R) -> R:
    """A copy whose `dg.EnvVar` fields (nested resources' too) hold the variables' values."""
    values = {}
    for name in type(resource).model_fields:
        value = getattr(resource, name)
        if isinstance(value, dg.EnvVar):
            value = value.get_value() or ""
        elif isinstance(value, dg.ConfigurableResource):
            value = resolved(value)
        values[name] = value
    return type(resource)(**values)


def from_environment(build: Callable[[Variables], R], deployment: str | None = None) -> R:
    """The resource `build` makes for the deployment (default: YD_DEPLOYMENT), resolved, for
    commands and code outside a run; raises when a variable it needs is missing."""
    variables = Variables(deployment)
    resource = build(variables)
    variables.check()
    return resolved(resource)
