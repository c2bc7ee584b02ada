"""Alert texts: one markdown body that WeCom, DingTalk and e-mail all show readably."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from yd_platform.deployment import ui_url

COLORS = {"ERROR": "warning", "WARN": "comment", "OK": "info"}
FIGURE_KEYS = ("failing_count", "value", "rows")


@dataclass(frozen=True)
class CheckFailure:
    asset: str  # "pdd/badscore/merged"
    check: str
    partition: str
    severity: str
    passed: bool
    description: str
    figure: str
    sample: str = ""


def check_link(asset: str, check: str) -> str:
    path = "/".join(urllib.parse.quote(p) for p in asset.split("/"))
    return f"{ui_url()}/assets/{path}?view=checks&check={urllib.parse.quote(check)}"


def run_link(run_id: str) -> str:
    return f"{ui_url()}/runs/{run_id}"


def _lines(item: CheckFailure, headline: str, color: str, link: str) -> str:
    parts = [
        f'**<font color="{color}">{headline}</font>**',
        f"> asset: {item.asset}",
        f"> partition: {item.partition or '-'}",
        f"> check: {item.check}",
        f"> severity: {item.severity}",
    ]
    if not item.passed:
        parts.append(f"> failing: {item.figure}")
    if item.description:
        parts.append(f"> {item.description[:500]}")
    if item.sample and item.sample != "-" and not item.passed:
        parts.append(f"> sample: {item.sample[:300]}")
    parts.append(f"[open in Dagster]({link})")
    return "\n".join(parts)


def failure_message(item: CheckFailure) -> tuple[str, str]:
    title = f"[{item.severity}] {item.asset} {item.check} {item.partition}".strip()
    return title, _lines(item, f"{item.severity}: check {item.check} failed", COLORS.get(item.severity, "warning"),
                         check_link(item.asset, item.check))


def recovered_message(item: CheckFailure) -> tuple[str, str]:
    title = f"[RECOVERED] {item.asset} {item.check} {item.partition}".strip()
    return title, _lines(item, f"recovered: check {item.check} passes again", COLORS["OK"],
                         check_link(item.asset, item.check))


def escalation_message(title: str, link: str, minutes: float) -> tuple[str, str]:
    return f"[ESCALATED] {title}", "\n".join([
        f'**<font color="warning">escalated: unresolved for {minutes:.0f} minutes</font>**',
        f"> {title}",
        f"[open in Dagster]({link})",
    ])


def run_failure_message(job: str, run_id: str, reason: str) -> tuple[str, str]:
    return f"[RUN FAILED] {job} {run_id[:8]}", "\n".join([
        f'**<font color="warning">run failed: {job}</font>**',
        f"> run: {run_id}",
        f"> {reason[:500]}" if reason else "> (no reason recorded)",
        f"[open in Dagster]({run_link(run_id)})",
    ])
