"""The Dagster instance a command opens, its instance file in place before it is opened.

Dagster opens a DAGSTER_HOME without a `dagster.yaml` anyway, warning "No dagster
instance configuration file (dagster.yaml) found at ..." and keeping everything there
with its own defaults. No command lets that happen:

- embedded (the default): DAGSTER_HOME, or `YD_HOME/dagster_home` when it is unset, gets
  the embedded instance file (`cli.up.embedded_dagster_home`) if it has none;
- production: DAGSTER_HOME must name the folder with the production instance file
  (a copy of docker/dagster.yaml); otherwise the command stops and says so, rather than
  read or write a local instance no service uses.

Every command that opens the instance (`run`, `up`, `status`, `adopt`, `metrics`,
`login`, `prepare-instance`) goes through `open_instance` or `instance_home`;
`doctor` only looks (`embedded_home`) and opens nothing that lacks its file.
"""

from __future__ import annotations

from pathlib import Path

from yd_platform.deployment import (
    PRODUCTION,
    DeploymentError,
    current_deployment,
    env,
    yd_home,
)

INSTANCE_FILE = "dagster.yaml"


def embedded_home() -> Path:
    """Where the embedded default keeps its instance when DAGSTER_HOME is unset."""
    return yd_home() / "dagster_home"


def instance_home() -> Path:
    """DAGSTER_HOME with its instance file, exported for this process and its children."""
    home = env("DAGSTER_HOME")
    if current_deployment() == PRODUCTION:
        if not home:
            raise DeploymentError("DAGSTER_HOME is not set: point it at the folder holding the production "
                                  "instance file (a copy of docker/dagster.yaml)")
        if not (Path(home) / INSTANCE_FILE).is_file():
            raise DeploymentError(f"DAGSTER_HOME={home} has no {INSTANCE_FILE}: copy docker/dagster.yaml there "
                                  "(the production instance: MySQL storage, S3 compute logs)")
        return Path(home)
    from yd_platform.cli.up import embedded_dagster_home

    return embedded_dagster_home()


def open_instance():
    """The `dg.DagsterInstance` of `instance_home()` (use it as a context manager)."""
    import dagster as dg

    instance_home()
    return dg.DagsterInstance.get()
