"""Putting a run's result into user_tags, without any per-user data in Python.

`write_user_tags` drives it: under the writer `lock`, skip the run when its inputs are
those of the last one (`unchanged`), else read the current rows from the platform's own
copy of the table (`snapshot`) when `table_state` vouches nobody else wrote it since, or
from the table (`current`); find a run that changes nothing without a join (`no_change`)
or work out what changes in Spark (`diff`), and `upsert` the changed rows in one
transaction. The guarantees of the write (all or nothing, timestamps, byte-exact user
ids) live here.
"""
