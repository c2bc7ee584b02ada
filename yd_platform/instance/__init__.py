"""The Dagster instance's storage, where yd_platform reaches past Dagster's public API.

- `instance.pools`: the per-platform and per-account pools of the collect runs, and the
  only calls into Dagster's slot storage (claims, frees, pool limits).
- `instance.pace`: the back-ends' pace (requests per minute per platform), reserved in the
  instance's key-value table so it holds across runs and machines.
- `instance.mysql_storage`: bringing a MySQL instance's schema up to date
  (`yd-platform prepare-instance`).
"""
