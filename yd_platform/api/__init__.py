"""`yd-platform api`: the HTTP API the old tag and scheduler services offered, now a thin
layer over the Dagster GraphQL API (runs are Dagster runs; task ids are run ids)."""
