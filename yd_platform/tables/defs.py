"""Definitions of the tables stage.

The `ods` assets (built by the pipeline factory) publish the partitions and refresh the
table engine chosen by YD_TABLE_ENGINE (`tables.engine.table_engine_from_env`); the
stage adds no assets of its own.
"""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog


def build_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions()
