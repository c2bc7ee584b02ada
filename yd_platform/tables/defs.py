"""Definitions of the tables stage.

The `ods` assets (built by the pipeline factory) publish the partitions and refresh the
table engine through the `table_engine` resource (`tables.engine`, registered with the
core resources); the stage adds no assets of its own.
"""

from __future__ import annotations

import dagster as dg

from yd_platform.catalog import Catalog


def build_defs(catalog: Catalog) -> dg.Definitions:
    return dg.Definitions()
