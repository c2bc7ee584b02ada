"""One tag run: load rules, validate them against the feature source, evaluate all valid
rules in one Spark pass, merge the result into user_tags.

The three launch modes of the old system are the run's parameters:
task-all (no tag_ids, no user_ids), task-tags (tag_ids), task-users (user_ids, with or
without tag_ids).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from yd_platform.catalog import Catalog
from yd_platform.deployment import env
from yd_platform.tags.config import TagsConfig
from yd_platform.tags.features.source import build_feature_source
from yd_platform.tags.rules.compile import schema_kinds
from yd_platform.tags.rules.evaluate import evaluate
from yd_platform.tags.rules.validate import validate_tags
from yd_platform.tags.tables import load_tags, tag_names
from yd_platform.tags.write.snapshot import snapshot_root
from yd_platform.tags.write.unchanged import input_fingerprint
from yd_platform.tags.write.write_user_tags import WriteSummary, write_user_tags


def staging_root() -> str | None:
    """Where MinIO partitions are staged for a local Spark (YD_TAGS_STAGING_DIR, default the
    temp folder); a cluster's executors read them from the object store instead
    (`features.object_read`)."""
    root = env("YD_TAGS_STAGING_DIR")
    if root:
        Path(root).mkdir(parents=True, exist_ok=True)
    return root


class TagRunError(RuntimeError):
    """The run cannot do what was asked (unknown tags, every requested rule invalid)."""


def mode_of(tag_ids: list[int], user_ids: list[str]) -> str:
    if user_ids:
        return "task-users"
    return "task-tags" if tag_ids else "task-all"


@dataclass
class TagRunReport:
    mode: str
    today: date
    evaluated_tag_ids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unknown_tag_ids: list[int] = field(default_factory=list)
    files_read: dict[str, int] = field(default_factory=dict)
    tag_names: dict[int, str] = field(default_factory=dict)
    summary: WriteSummary | None = None

    def per_tag(self) -> list[dict[str, object]]:
        """Per evaluated tag: users matched, hit rate, users added and removed by this run."""
        return self.summary.per_tag(self.tag_names) if self.summary else []

    def as_metadata(self) -> dict[str, object]:
        meta: dict[str, object] = {
            "mode": self.mode,
            "today": self.today.isoformat(),
            "evaluated_tag_ids": ", ".join(map(str, self.evaluated_tag_ids)) or "(none)",
            "invalid_rules": len(self.problems),
            "ods_files_read": sum(self.files_read.values()),
        }
        if self.summary:
            meta.update(self.summary.as_metadata())
        if self.problems:
            meta["rule_problems"] = "\n".join(self.problems)
        if self.unknown_tag_ids:
            meta["unknown_tag_ids"] = ", ".join(map(str, self.unknown_tag_ids))
        return meta


def run_user_tags(spark, engine: sa.Engine, store, cfg: TagsConfig, catalog: Catalog, today: date,
                  tag_ids: list[int] | None = None, user_ids: list[str] | None = None,
                  log: Callable[[str], None] = print, force: bool = False) -> TagRunReport:
    """One run; `force` compares with user_tags even when the inputs are those of the last
    run of the same scope (see `unchanged`)."""
    tag_ids, user_ids = sorted(set(tag_ids or [])), sorted({str(u) for u in user_ids or []})
    report = TagRunReport(mode_of(tag_ids, user_ids), today)
    tags = load_tags(engine, tag_ids or None)
    report.unknown_tag_ids = sorted(set(tag_ids) - {t.tag_id for t in tags})
    if report.unknown_tag_ids:
        log(f"tag ids not found or inactive: {report.unknown_tag_ids}")
    if not tags:
        if tag_ids:
            raise TagRunError(f"none of the requested tag ids {tag_ids} is an active tag with an active rule")
        log("no active tags with rules: nothing to compute")
        return report
    with tempfile.TemporaryDirectory(prefix="yd-tags-", dir=staging_root()) as staging:
        log(f"{report.mode}: reading the features of {today} ({len(tags)} tags selected)")
        source, report.files_read = build_feature_source(spark, cfg.source, catalog, store, today, Path(staging))
        validation = validate_tags(tags, schema_kinds(source))
        problems = list(validation.problems)
        found = evaluate(source, validation.valid, today, user_ids or None, problems)
        report.problems = [str(p) for p in problems]
        failed = {p.tag_id for p in problems}
        report.evaluated_tag_ids = [t.tag_id for t in validation.valid if t.tag_id not in failed]
        if not report.evaluated_tag_ids:
            raise TagRunError("every selected rule is invalid: " + "; ".join(report.problems))
        report.tag_names = {t.tag_id: t.tag_name for t in tags}
        inputs = None if force else input_fingerprint(
            spark, source, staging, today=today, features=cfg.source.model_dump(mode="json"), names=tag_names(engine),
            rules=[(t.tag_id, t.tag_name, t.rule) for t in validation.valid if t.tag_id not in failed])
        log(f"features from {sum(report.files_read.values())} ODS files; evaluating {len(report.evaluated_tag_ids)} "
            f"tags, comparing with user_tags and writing what changed")
        copies = cfg.write.snapshot
        root = snapshot_root(spark, copies.location, getattr(store, "bucket", None)) if copies.enabled else None
        report.summary = write_user_tags(spark, engine, found, report.evaluated_tag_ids, user_ids or None,
                                         staging_dir=staging, inputs=inputs, snapshot_root=root)
    log(f"{report.mode}: tags {report.evaluated_tag_ids} -> {report.summary.as_metadata()}")
    return report
