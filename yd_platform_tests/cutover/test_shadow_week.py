"""A shadow week sends nothing and reports its differences: with shadow mode on, award
notices, a failing check's alert and a PMS service's alerts are held in the outbox (the
fake robot and SMTP server receive nothing), and `yd-platform shadow report` names exactly
the differences prepared in the old systems' outputs."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from yd_platform.cli.main import main
from yd_platform.definitions import build_definitions
from yd_platform.notify.defs import SENSOR_NAME
from yd_platform.outbox.channel_config import load_outbox_config
from yd_platform.outbox.channel_resources import ChannelsResource, RobotSettings, SmtpSettings
from yd_platform.outbox.shadow import held_by_kind
from yd_platform.outbox.tables import messages
from yd_platform.pms import schema as pms_tables
from yd_platform.pms.delivery import OutboxLink
from yd_platform.resources.app_db import AppDatabaseResource, engine_for
from yd_platform.tags.tables import ensure_tables as ensure_tag_tables
from yd_platform.tags.tables import user_tags
from yd_platform_tests.cutover.old_incentive_files import write_performance_csv
from yd_platform_tests.dagster_events import materialization
from yd_platform_tests.failing_check import publish_with_duplicate_keys
from yd_platform_tests.incentives.helpers import REWARD_ASSETS, TEST_CONFIG
from yd_platform_tests.outbox.smtp_server import SmtpServer
from yd_platform_tests.pms.database import NOW, day

PARTITION = "BJ|2025-06"


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


def shadow_channels(robot, smtp) -> ChannelsResource:
    """The alert channels of alerts.yaml (WeCom robot, e-mail) set up, in shadow mode."""
    return ChannelsResource(robots={"ops_wecom": RobotSettings(url=robot.webhook())},
                            mail_to={"ops_mail": "ops@example.com"},
                            smtp=SmtpSettings(host="127.0.0.1", port=smtp.port), shadow=True)


def run_failing_check(catalog, instance, store, app_url: str, channels: ChannelsResource) -> str:
    """A blocking check fails in the real publish job; the yd_notify sensor ticks once."""
    defs = build_definitions(catalog)
    publish_with_duplicate_keys(defs, catalog, instance, store)
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    with dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def(),
                                 resources={"app_db": AppDatabaseResource(url=app_url),
                                            "alert_channels": channels}) as context:
        return str(sensor(context).skip_message)


def pms_alerts(pms) -> list[dict]:
    a, r = pms_tables.alert_records.c, pms_tables.alert_rules.c
    with pms.engine.connect() as conn:
        return [dict(x) for x in conn.execute(sa.select(a.alert_no, r.rule_code, a.target_type, a.target_id,
                                                        a.alert_level, a.triggered_at)
                                              .join(pms_tables.alert_rules, r.id == a.rule_id).order_by(a.id)).mappings()]


def write_rows(path: Path, rows: list[dict], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.slow
def test_a_shadow_week_sends_nothing_and_reports_its_differences(
        cfg, runs, robot, smtp, instance, catalog, yd_home, embedded_store, mysql_url, minio_store, pms, tmp_path,
        monkeypatch, capsys):
    channels = shadow_channels(robot, smtp)
    app = engine_for(mysql_url)

    # the award notices of June
    incentives = runs.on(mysql_url).with_store(minio_store).shadowed()
    notices = incentives.run(cfg, REWARD_ASSETS, PARTITION)
    assert notices.success
    meta = materialization(notices, "reward_notices")
    assert meta["shadow_mode"] is True and meta["notices_held"] == meta["awards"] == 11 and meta["notices_sent"] == 0

    # a failing check's alert, by the yd_notify sensor
    tick = run_failing_check(catalog, instance, embedded_store, mysql_url, channels)
    assert "SHADOW MODE (YD_SHADOW_MODE): held" in tick and "sent nothing" in tick

    # a PMS service raising alerts, and the push of their notifications
    for number, late in (("I1", 4), ("I2", 8), ("I4", 1)):
        pms.add("issues", issue_no=number, project_id=1, title=f"问题{number}", status="OPEN", assignee_id=None,
                due_date=day(-late))
    pms.run("check_overdue_issues", now=NOW.replace(minute=0))
    link = OutboxLink(app, load_outbox_config(), channels)
    pushed = pms.run("send_alert_notifications", now=NOW.replace(minute=15), outbox=link)["result"]
    assert pushed["queued_notifications"] == 3

    assert robot.posts == [] and smtp.mails == []  # nothing arrived anywhere
    held = held_by_kind(app)
    assert held["reward"] == 11 and held["pms_alert"] == 3 and held["alert"] >= 2 and held["run_failure"] >= 2
    with app.connect() as conn:
        assert set(conn.execute(sa.select(messages.c.status).distinct()).scalars()) == {"held"}

    # the old systems' outputs of the same week, with known differences
    awards = {a["award_id"]: a for a in _platform_awards(incentives)}
    kept = [a for key, a in awards.items() if key != "reward|BJ|2025-06|tier|刘洋|节节高|优秀奖"]
    rows = [{"contract_id": a["contract_id"], "contract_no": a["contract_no"], "housekeeper": a["housekeeper"],
             "prizes": [("幸运数字" if "lucky" in a["award_id"] else "节节高", a["reward_name"])]} for a in kept]
    rows.append({"contract_id": "BJ2025060002", "contract_no": "YHWX-BJ-202506-0002", "housekeeper": "李四",
                 "prizes": [("节节高", "达标奖")]})
    old_awards = write_performance_csv(tmp_path / "PerformanceData-BJ-Jun.csv", rows)

    ensure_tag_tables(app)
    now = datetime(2026, 3, 10, 6, 0)
    with app.begin() as conn:
        conn.execute(sa.insert(user_tags), [
            {"user_id": uid, "tag_ids": tags, "tag_details": {}, "created_time": now, "updated_time": now}
            for uid, tags in (("u1", [1, 3]), ("u2", [2]), ("u3", [1, 5, 7]), ("Buyer_A", []))])
    old_tags = write_rows(tmp_path / "user_tags.tsv", [
        {"user_id": "u1", "tag_ids": "[3, 1]"}, {"user_id": "u2", "tag_ids": "[2, 4]"},
        {"user_id": "u3", "tag_ids": "[1,5,7]"}, {"user_id": "buyer_a", "tag_ids": "[]"}], delimiter="\t")

    i1, i2, i4 = (next(a for a in pms_alerts(pms) if a["target_id"] == n) for n in _issue_ids(pms, "I1", "I2", "I4"))
    assert (i1["alert_level"], i2["alert_level"], i4["alert_level"]) == ("CRITICAL", "URGENT", "WARNING")
    exported = [{**i1, "alert_no": "IO202603100007"}, {**i2, "alert_no": "IO202603100008", "alert_level": "CRITICAL"},
                {**i1, "alert_no": "IO202603050001", "target_id": 99, "triggered_at": datetime(2026, 3, 5, 9)},
                {**i1, "alert_no": "IO202602010001", "target_id": 98, "triggered_at": datetime(2026, 2, 1, 9)}]
    old_alerts = write_rows(tmp_path / "alert_records.csv", exported)

    # the report, as an operator runs it
    config = tmp_path / "incentives.yaml"
    config.write_text(TEST_CONFIG, encoding="utf-8")
    for name, value in {"YD_APP_DB_URL": mysql_url, "YD_INCENTIVES_CONFIG": str(config), "YD_SHADOW_MODE": "true",
                        "YD_PMS_DB_URL": str(pms.engine.url), "YD_OBJECT_STORE": "minio",
                        "YD_MINIO_ENDPOINT": minio_store.endpoint, "YD_MINIO_ACCESS_KEY": minio_store.access_key,
                        "YD_MINIO_SECRET_KEY": minio_store.secret_key, "YD_MINIO_BUCKET": minio_store.bucket,
                        "YD_MINIO_REGION": minio_store.region}.items():
        monkeypatch.setenv(name, value)
    args = ["shadow", "report", "--month", "2025-06", "--old-awards", str(old_awards), "--old-user-tags", str(old_tags),
            "--old-pms-alerts", str(old_alerts), "--since", "2026-03-04", "--until", "2026-03-11"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["shadow_mode"] is True and report["held"]["reward"] == 11 and report["held"]["pms_alert"] == 3
    kinds = report["kinds"]
    assert {k: tuple(v["counts"].values()) for k, v in kinds.items()} == {
        "awards": (10, 1, 1, 0), "user_tags": (2, 1, 1, 1), "pms_alerts": (1, 1, 1, 1)}
    aw = kinds["awards"]
    assert aw["missing"][0].startswith("BJ 李四 达标奖 (PerformanceData-BJ-Jun.csv line ")
    assert aw["extra"] == ["BJ 刘洋 优秀奖"]
    tags = kinds["user_tags"]
    assert tags["missing"] == ["user buyer_a: old [], platform has no row"]
    assert tags["extra"] == ["user Buyer_A: platform [], old system has no row"]
    assert tags["different"] == ["user u2: old [2, 4], platform [2] (platform lacks [4], has more [])"]
    alerts = kinds["pms_alerts"]
    assert alerts["missing"] == [f"ISSUE_OVERDUE {i1['target_type']} 99 CRITICAL (old IO202603050001)"]
    assert alerts["extra"] == [f"ISSUE_OVERDUE {i4['target_type']} {i4['target_id']} {i4['alert_level']} "
                               f"(platform {i4['alert_no']})"]
    assert alerts["different"] == [f"ISSUE_OVERDUE {i2['target_type']} {i2['target_id']}: old ['CRITICAL'] "
                                   f"(IO202603100008), platform ['URGENT'] ({i2['alert_no']})"]

    assert main([*args, "--limit", "1"]) == 0
    text = capsys.readouterr().out
    assert "awards: 10 equal, 1 missing (old system only), 1 extra (platform only), 0 different" in text
    assert "user_tags: 2 equal, 1 missing" in text and "pms_alerts: 1 equal, 1 missing" in text
    assert "shadow mode: on; messages held" in text
    assert robot.posts == [] and smtp.mails == []


def _platform_awards(runs) -> list[dict]:
    from yd_platform.incentives.computed import read_month

    return read_month(runs.object_store().client(), "BJ", "2025-06").awards


def _issue_ids(pms, *numbers: str) -> list[int]:
    rows = {r["issue_no"]: r["id"] for r in pms.rows("issues")}
    return [rows[n] for n in numbers]


def test_held_messages_stay_unsent_after_shadow_mode_until_released(robot, tmp_path, monkeypatch, capsys):
    """Switching shadow mode off sends nothing held; `shadow release` queues them and the
    next delivery sends each once."""
    from yd_platform.outbox.delivery import Delivery
    from yd_platform_tests.outbox.helpers import channel_configs, queue, robot_settings, statuses

    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = engine_for(url)
    queue(engine, 1000.0, 3)
    shadowed = ChannelsResource(robots=robot_settings(robot).robots, shadow=True)
    summary = Delivery(engine, channel_configs(), shadowed, clock=lambda: 1000.0).run()
    assert (summary.held, summary.sent, str(summary)) == (3, 0, "SHADOW MODE (YD_SHADOW_MODE): held 3, sent nothing")
    assert Delivery(engine, channel_configs(), robot_settings(robot), clock=lambda: 1100.0).run().sent == 0
    assert [s for _, s, _ in statuses(engine)] == ["held"] * 3 and robot.posts == []

    monkeypatch.setenv("YD_APP_DB_URL", url)
    monkeypatch.setenv("YD_SHADOW_MODE", "true")
    assert main(["shadow", "release"]) == 1
    assert "shadow mode is on" in capsys.readouterr().err
    monkeypatch.setenv("YD_SHADOW_MODE", "false")
    assert main(["shadow", "release", "--kind", "alert", "--dry-run"]) == 0
    assert "would queue 3 held message(s)" in capsys.readouterr().out
    assert main(["shadow", "release", "--kind", "alert"]) == 0
    now = datetime.now().timestamp()
    Delivery(engine, channel_configs(), robot_settings(robot), clock=lambda: now + 1).run()
    Delivery(engine, channel_configs(), robot_settings(robot), clock=lambda: now + 120).run()
    assert len(robot.delivered()) == 3 and [s for _, s, _ in statuses(engine)] == ["sent"] * 3


def test_doctor_and_status_say_whether_messages_are_held(tmp_path, monkeypatch):
    from yd_platform.cli.doctor import check_shadow_mode
    from yd_platform.cli.status import shadow_mode_of
    from yd_platform_tests.outbox.helpers import queue

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("YD_APP_DB_URL", url)
    queue(engine_for(url), 1000.0, 2)
    with engine_for(url).begin() as conn:
        conn.execute(sa.update(messages).values(status="held"))
    monkeypatch.setenv("YD_SHADOW_MODE", "yes")
    check = check_shadow_mode(url)
    assert check.state == "WARN" and "SHADOW MODE (YD_SHADOW_MODE=true)" in check.line() and "held: alert 2" in check.line()
    assert shadow_mode_of()["on"] is True and shadow_mode_of()["held"] == {"alert": 2}
    monkeypatch.setenv("YD_SHADOW_MODE", "0")
    assert check_shadow_mode(url).state == "OK"
    assert "2 held from a shadow run stay unsent (alert 2); `yd-platform shadow release` queues them" in \
        shadow_mode_of()["line"]
