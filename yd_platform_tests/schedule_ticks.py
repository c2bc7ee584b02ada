"""A schedule's tick evaluated in the test, as the daemon evaluates it."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from yd_platform.deployment_resources import resources_for


def schedule_tick(defs: dg.Definitions, instance: dg.DagsterInstance, name: str, when: datetime):
    """The tick of schedule `name` at `when` (its run requests or skip reason), with the
    resources of the deployment the environment names, as the code location has them."""
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=when,
                                   repository_def=defs.get_repository_def(), resources=resources_for()) as context:
        return defs.resolve_schedule_def(name).evaluate_tick(context)
