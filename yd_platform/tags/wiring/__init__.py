"""The tags stage inside Dagster: the `user_tags` asset with its run config and
automation, one run from rules to written rows, and the GraphQL trigger other programs
use to start it. The stage's `defs.py` puts these together.
"""
