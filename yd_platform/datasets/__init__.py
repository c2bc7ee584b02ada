"""The dataset chain's shared vocabulary: asset keys, partitions, object paths, table schema.

Every stage (collect, merge, tables, checks, tags, ...) imports these names from here,
and this package imports nothing but the catalog, so a stage can be changed without
reading another one and no stage imports back up the layers.
"""
