"""Load `tags.yaml`, the one configuration file of the tags stage.

Its sections belong to the parts that use them: `source:` (the feature source,
`features.config`), `spark:` (the Spark session, `spark_session`), `seed:` (the shipped
tags, `seed.shipped`), plus the timezone that decides "today". This module only reads
the file and checks the sections against each other and the catalog: a shipped rule
must fit the configured features. Mistakes are refused when the code location loads,
with a message naming the file, the entry and the field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yd_platform.catalog import Catalog
from yd_platform.catalog.yaml_files import read_yaml
from yd_platform.deployment import PACKAGE_DIR, env
from yd_platform.tags.features.config import Source, TagsConfigError, feature_schema
from yd_platform.tags.seed.shipped import TagSeed, seed_problems
from yd_platform.tags.spark_session import SparkSettings

DEFAULT_CONFIG = PACKAGE_DIR / "config" / "tags.yaml"

__all__ = ["DEFAULT_CONFIG", "TagsConfig", "TagsConfigError", "config_path", "load_tags_config"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SnapshotSettings(_Model):
    """`write.snapshot` in tags.yaml: whether and where the platform keeps its copy of user_tags
    (`tags.write.snapshot`)."""

    enabled: bool = True
    # a folder or URI every Spark executor reads; empty: YD_HOME with a local Spark, the
    # object store (s3a://) on a cluster that reads it
    location: str = ""


class WriteSettings(_Model):
    batch_size: int = Field(default=1000, gt=0)
    snapshot: SnapshotSettings = SnapshotSettings()


class TagsConfig(_Model):
    timezone: str = "Asia/Shanghai"
    source: Source
    spark: SparkSettings = SparkSettings()
    write: WriteSettings = WriteSettings()
    seed: TagSeed = TagSeed()


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
        problems = seed_problems(cfg.seed, feature_schema(cfg.source, catalog))
        if problems:
            raise TagsConfigError(f"{path.name}: seed: " + "; ".join(problems))
    return cfg
