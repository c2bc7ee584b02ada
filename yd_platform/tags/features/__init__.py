"""The per-user feature source the rules test: one row per user, built from ODS tables.

`config` is the `source:` section of tags.yaml and the feature schema it implies (so
rules are validated without Spark); `source` aggregates the ODS partitions of the window
per user; `object_read` lets Spark read them straight from the object store (`s3a://`).
Adding a feature or a dataset is a change here and in tags.yaml only.
"""
