"""Exited run containers leave the Docker engine.

In the production stack every run starts a container of its own (DockerRunLauncher,
docker/dagster.yaml), and nothing removes it when the run ends: the technician-status
schedule alone (every 3 minutes) leaves 480 a day. The launcher keeps `auto_remove: false`
on purpose: run monitoring reads a dead run worker's exit code and OOM kill from its
container, and `docker logs` is the only record of a worker that crashed before its first
event. So containers stay for `run_containers.keep_hours` (config/housekeeping.yaml), then
Docker's own prune removes the stopped ones that carry the run containers' labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from yd_platform.housekeeping.config import load_housekeeping_config

SENSOR_NAME = "yd_housekeeping_run_containers"
# Every container the DockerRunLauncher starts carries it.
RUN_ID_LABEL = "dagster/run_id"


@dataclass(frozen=True)
class Pruned:
    container_ids: list[str]
    space_reclaimed: int


def run_container_labels(launcher) -> list[str]:
    """The label filters that single out this instance's run containers: the launcher's
    run-id label and the labels docker/dagster.yaml gives them (`container_kwargs.labels`)."""
    labels = (getattr(launcher, "container_kwargs", None) or {}).get("labels") or {}
    if isinstance(labels, list):
        labels = {name: "" for name in labels}
    return [RUN_ID_LABEL, *(f"{name}={value}" if value else name for name, value in sorted(labels.items()))]


def prune_run_containers(client, labels: list[str], keep_hours: int) -> Pruned:
    """Removes the stopped containers carrying every label in `labels` and created more
    than `keep_hours` ago, through the engine's prune (running ones are never touched)."""
    result = client.containers.prune(filters={"label": labels, "until": f"{keep_hours}h"}) or {}
    return Pruned(list(result.get("ContainersDeleted") or []), int(result.get("SpaceReclaimed") or 0))


@dg.sensor(name=SENSOR_NAME, minimum_interval_seconds=3600, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Remove exited run containers older than run_containers.keep_hours (config/housekeeping.yaml)")
def run_containers_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    launcher = context.instance.run_launcher
    if type(launcher).__name__ != "DockerRunLauncher":
        return dg.SkipReason(f"runs do not start containers on this instance ({type(launcher).__name__})")
    import docker

    keep_hours = load_housekeeping_config().run_containers.keep_hours
    pruned = prune_run_containers(docker.from_env(), run_container_labels(launcher), keep_hours)
    message = (f"removed {len(pruned.container_ids)} exited run containers created over {keep_hours} h ago "
               f"({pruned.space_reclaimed / 1e6:.1f} MB)")
    context.log.info(message)
    return dg.SkipReason(message)
