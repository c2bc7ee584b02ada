"""User tags: rules in the app database, evaluated in one Spark pass over per-user features
built from ODS tables, and the changed rows upserted into user_tags.

Each concern is a subpackage that can be changed on its own. A subpackage imports only
those left of it in  rules <- features <- write <- wiring;  seed uses rules and the tables:

- `rules/`     the rule JSON format and validator, compiling rules to Spark columns, the
               one-pass evaluation
- `features/`  the per-user feature source: the `source:` section of tags.yaml and
               reading the ODS feature files (in place, staged, or `s3a://`)
- `write/`     putting a run's result into user_tags: current rows, the diff, the writer
               lock, skip-if-unchanged, the SQL upsert
- `seed/`      the tags that ship with the platform and their demo feature data
- `wiring/`    the Dagster side: the `user_tags` asset, one run, the GraphQL trigger

Beside them, used by several: `config.py` (tags.yaml as a whole), `tables.py` (the tag
tables), `spark_session.py` (the Spark session and its settings); and the two entry
points that put the parts together: `defs.py` (the stage's Dagster definitions) and
`first_start.py` (the embedded default's first start, from `yd-platform up`).
"""
