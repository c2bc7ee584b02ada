"""Operations alerts: the 37 scheduled services of the project-management system (PMS).

`config/pms.yaml` lists them; `services/` holds one function each; `runner` runs one;
`defs` makes them Dagster assets, checks, jobs and schedules; `delivery` hands their
notifications to the platform outbox; `api` feeds the scheduler API.
"""

from yd_platform.pms.api import list_services, scheduler_metrics

__all__ = ["list_services", "scheduler_metrics"]
