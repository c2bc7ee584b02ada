"""Start `user_tags_job` through the Dagster GraphQL API and wait for it (what the old
system's REST trigger did): for back-end services and operators' scripts.

    from yd_platform.tags.wiring.graphql_trigger import trigger_user_tags, wait_for_run
    run_id = trigger_user_tags("http://127.0.0.1:3000", tag_ids=[1, 3], user_ids=["u1"])
    print(wait_for_run("http://127.0.0.1:3000", run_id))   # DagsterRunStatus.SUCCESS

Without tag_ids every active tag runs (task-all); user_ids alone is task-users. The same
run from a shell:

    dagster job launch -w workspace.yaml -j user_tags_job \
        --config-json '{"ops": {"user_tags": {"config": {"tag_ids": [1, 3], "user_ids": ["u1"]}}}}'
"""

from __future__ import annotations

import dagster as dg

from yd_platform.resources.dagster_webserver import RunLauncher

JOB = "user_tags_job"


def run_config(tag_ids: list[int] | None = None, user_ids: list[str] | None = None,
               today: str | None = None) -> dict:
    """Run config of user_tags_job: no tag_ids/user_ids = task-all."""
    config: dict = {"tag_ids": list(tag_ids or []), "user_ids": [str(u) for u in user_ids or []]}
    if today:
        config["today"] = today
    return {"ops": {"user_tags": {"config": config}}}


def trigger_user_tags(url: str, tag_ids: list[int] | None = None, user_ids: list[str] | None = None,
                      today: str | None = None, location: str = "yd_platform") -> str:
    """Submit a run; returns its run id (the instance's run coordinator decides when it starts)."""
    return RunLauncher(url, location=location).submit(JOB, run_config=run_config(tag_ids, user_ids, today))


def wait_for_run(url: str, run_id: str, timeout: float = 3600, poll: float = 3) -> dg.DagsterRunStatus:
    """Poll until the run finishes (or raise RunTimeout, a TimeoutError naming the run)."""
    return RunLauncher(url).wait(run_id, timeout=timeout, poll=poll).status
