"""Sales incentives (reward rules per city and month, exactly-once WeCom notices) and the
service-provider SLA monitor, as Dagster assets in group "incentives"."""
