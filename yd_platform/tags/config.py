"""Load `tags.yaml`: which ODS datasets and columns build the per-user feature source,
and the Spark settings.

Mistakes are refused when the code location loads, with a message naming the file, the
entry and the field (e.g. ``tags.yaml: source.datasets[0] (pdd/chat): column 'x' ...``).
The feature schema (name -> number/string/date/boolean/list) follows from this file and
the catalog alone, so rules can be validated without starting Spark.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yd_platform.catalog import Catalog, DatasetSpec
from yd_platform.catalog.yaml_files import read_yaml
from yd_platform.settings import PACKAGE_DIR, env
from yd_platform.tags.seed import TagSeed, seed_problems

DEFAULT_CONFIG = PACKAGE_DIR / "config" / "tags.yaml"
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
CATALOG_KINDS = {"string": "string", "int": "number", "float": "number", "date": "date",
                 "datetime": "date", "bool": "boolean"}
# Spark types of a feature that has no data yet (its dataset has no partition in the window).
EMPTY_TYPES = {"number": "double", "string": "string", "date": "date", "boolean": "boolean",
               "list": "array<string>"}
ADDED_COLUMNS = {"platform": "string", "shop_id": "string", "period": "string",
                 "period_start": "date", "period_end": "date"}
# MariaDB Connector/J from Debian's libmariadb-java (.ci/setup, docker/Dockerfile)
JDBC_JAR = "/usr/share/java/mariadb-java-client.jar"
LOCAL_DRIVER = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}


def is_local_master(master: str) -> bool:
    return master == "local" or master.startswith("local[")


class TagsConfigError(ValueError):
    """tags.yaml is wrong; the message says where."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Feature(_Model):
    agg: Literal["count", "count_distinct", "sum", "min", "max", "collect_set"]
    column: str | None = None


class SourceDataset(_Model):
    dataset: str = Field(pattern=r"^[a-z0-9_]+/[a-z0-9_]+$")
    user_column: str
    features: dict[str, Feature] = Field(default_factory=dict)
    # snapshot tables (one row per user per partition): only the newest partition in the
    # window is read, and `columns` are features under their own names, taken as they are
    snapshot: bool = False
    columns: list[str] = Field(default_factory=list)

    @property
    def platform_code(self) -> tuple[str, str]:
        platform, code = self.dataset.split("/")
        return platform, code


class Derived(_Model):
    sum: list[str] | None = None
    greatest: list[str] | None = None

    @property
    def op(self) -> str:
        return "sum" if self.sum else "greatest"

    @property
    def inputs(self) -> list[str]:
        return list(self.sum or self.greatest or [])


class Source(_Model):
    window_days: int = Field(default=90, gt=0)
    datasets: list[SourceDataset]
    derived: dict[str, Derived] = Field(default_factory=dict)


class SparkSettings(_Model):
    master: str = "local[*]"
    config: dict[str, str] = Field(default_factory=dict)


class WriteSettings(_Model):
    batch_size: int = Field(default=1000, gt=0)


class TagsConfig(_Model):
    timezone: str = "Asia/Shanghai"
    source: Source
    spark: SparkSettings = SparkSettings()
    write: WriteSettings = WriteSettings()
    seed: TagSeed = TagSeed()

    def spark_master(self) -> str:
        return env("YD_SPARK_MASTER") or self.spark.master

    def spark_config(self) -> dict[str, str]:
        """Spark settings with the master from YD_SPARK_MASTER when set, and the S3A
        settings when the features are read from the object store (`object_read`).

        A local master binds the driver to the loopback address; a cluster's executors
        must reach the driver, so there Spark's own choice (or spark.config) applies.
        """
        from yd_platform.tags.object_read import reads_object_store, s3a_config

        master = self.spark_master()
        local = LOCAL_DRIVER if is_local_master(master) else {}
        direct = s3a_config() if reads_object_store(master) else {}
        conf = {**local, **direct, **self.spark.config, "spark.master": master}
        if Path(JDBC_JAR).exists():  # Spark reads user_tags over JDBC (and ships the jar to executors)
            conf["spark.jars"] = ",".join(filter(None, [conf.get("spark.jars"), JDBC_JAR]))
        return conf


def _column_kinds(ds: DatasetSpec) -> dict[str, str]:
    return {**ADDED_COLUMNS, **{c.name: CATALOG_KINDS[c.type] for c in ds.columns}}


def feature_schema(cfg: TagsConfig, catalog: Catalog) -> dict[str, str]:
    """user_id and every feature with its rule type; raises TagsConfigError on a bad entry."""
    schema = {"user_id": "string"}

    def add(name: str, kind: str, where: str) -> None:
        if not NAME_RE.match(name):
            raise TagsConfigError(f"tags.yaml: {where}: feature name {name!r} must be lower_snake_case")
        if name in schema:
            raise TagsConfigError(f"tags.yaml: {where}: feature {name!r} is defined twice")
        schema[name] = kind

    for i, entry in enumerate(cfg.source.datasets):
        where = f"source.datasets[{i}] ({entry.dataset})"
        try:
            ds = catalog.dataset(*entry.platform_code)
        except KeyError as exc:
            raise TagsConfigError(f"tags.yaml: {where}: {exc.args[0]}") from exc
        columns = _column_kinds(ds)
        if entry.user_column not in columns:
            raise TagsConfigError(f"tags.yaml: {where}: user_column {entry.user_column!r} is not a column "
                                  f"of {entry.dataset} (columns: {', '.join(columns)})")
        if entry.columns and not entry.snapshot:
            raise TagsConfigError(f"tags.yaml: {where}: columns are taken as they are, which needs "
                                  "snapshot: true (one row per user)")
        for name in entry.columns:
            if name not in columns:
                raise TagsConfigError(f"tags.yaml: {where}.columns: {name!r} is not a column of "
                                      f"{entry.dataset} (columns: {', '.join(columns)})")
            add(name, columns[name], f"{where}.columns")
        for name, feature in entry.features.items():
            fwhere = f"{where}.features.{name}"
            if feature.agg == "count":
                add(name, "number", fwhere)
                continue
            if feature.column not in columns:
                raise TagsConfigError(f"tags.yaml: {fwhere}: column {feature.column!r} is not a column of "
                                      f"{entry.dataset} (columns: {', '.join(columns)})")
            kind = columns[feature.column]
            if feature.agg == "sum" and kind != "number":
                raise TagsConfigError(f"tags.yaml: {fwhere}: sum needs a number column, {feature.column} is {kind}")
            add(name, {"count_distinct": "number", "collect_set": "list"}.get(feature.agg, kind), fwhere)
    for name, derived in cfg.source.derived.items():
        where = f"source.derived.{name}"
        if bool(derived.sum) == bool(derived.greatest):
            raise TagsConfigError(f"tags.yaml: {where}: give exactly one of sum: [...] or greatest: [...]")
        kinds = set()
        for item in derived.inputs:
            if item not in schema:
                raise TagsConfigError(f"tags.yaml: {where}: unknown feature {item!r}")
            kinds.add(schema[item])
        if len(kinds) != 1 or (derived.op == "sum" and kinds != {"number"}):
            raise TagsConfigError(f"tags.yaml: {where}: inputs must all be numbers for sum, or all one type "
                                  f"for greatest (got {sorted(kinds)})")
        add(name, kinds.pop(), where)
    return schema


def config_path() -> Path:
    return Path(env("YD_TAGS_CONFIG") or DEFAULT_CONFIG)


def load_tags_config(path: str | Path | None = None, catalog: Catalog | None = None) -> TagsConfig:
    """Parse and check tags.yaml (against the catalog when given)."""
    path = Path(path or config_path())
    raw = read_yaml(path, TagsConfigError)
    try:
        cfg = TagsConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TagsConfigError(f"{path.name}: {where}: {first['msg']}") from exc
    if catalog is not None:
        problems = seed_problems(cfg.seed, feature_schema(cfg, catalog))
        if problems:
            raise TagsConfigError(f"{path.name}: seed: " + "; ".join(problems))
    return cfg
