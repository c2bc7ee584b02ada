"""Resources: one module per outside system, each a `dg.ConfigurableResource` whose
settings come from the deployment's variables as `EnvVar` fields (`yd_platform.deployment`).

`object_store` (S3 or a local folder), `table_engine` and `dremio`, `app_db`, `shops`,
`task_tables`, `merchant_backends` (the collectors' back-ends and the warehouse),
`warehouse_db`, `pms_db`, `metabase`, `spark`, `dagster_webserver`; the alert channels
are the outbox's (`outbox.channel_resources`). `yd_platform.deployment_resources.resources_for`
builds all of them for a deployment (above both this package and the outbox). Each module also gives `<system>_from_env()`, the
same resource with its values read now, for commands and tests.
"""
