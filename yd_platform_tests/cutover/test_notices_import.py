"""Awards the old incentive system already announced are never announced again: its tasks.db
and status files are imported into the outbox, then `incentives/reward_notices` sends only
what it did not send, exactly once, also on the next run."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from yd_platform.cutover.notices_import import import_notices
from yd_platform.incentives.demo import demo_contracts
from yd_platform.incentives.rules import compute_rewards
from yd_platform.outbox.tables import messages
from yd_platform.resources.app_db import engine_for
from yd_platform_tests.cutover.old_incentive_files import OldTasksDb, write_status
from yd_platform_tests.dagster_events import materialization
from yd_platform_tests.incentives.helpers import REWARD_ASSETS

PARTITION = "BJ|2025-06"


def month_awards(cfg):
    return compute_rewards(demo_contracts("BJ", "2025-06"), cfg.rule_set("BJ", "2025-06"), "BJ", "2025-06")[1]


def on_contract(awards, number: str):
    return [a for a in awards if a.contract_no.endswith(number)]


def old_system_files(tmp_path, awards):
    """The old system's records of June: some notices went out, some stayed pending, some
    records name nothing the platform knows. Returns (tasks.db, state folder, keys it sent,
    keys it did not)."""
    db = OldTasksDb(tmp_path / "tasks.db")
    a = lambda n: on_contract(awards, n)  # noqa: E731
    for n in ("0008", "0012", "0016"):  # both messages went out
        db.group(a(n)[0], "completed")
        db.prizes(a(n), "completed")
    db.group(a("0017")[0], "completed")  # the group heard of it; the contact's message failed
    db.prizes(a("0017"), "pending")
    for n in ("0018", "0019", "0030"):  # queued, never sent
        db.group(a(n)[0], "pending")
        db.prizes(a(n), "pending")
    db.prizes(a("0024"), "completed", elite=True)  # only the award message, elite wording
    db.add("send_wecom_message", "（北京）修链服务运营", "🧨🧨🧨 签约喜报 🧨🧨🧨\n恭喜 李四 签约合同 YHWX-BJ-202506-0001 并完成线上收款",
           "completed")  # a contract without award
    db.add("send_wechat_message", "某公司", "您好，公司的管家：李四，在2025-06-12 10:00 🟢 上线 了。", "completed")
    unknown_row = db.add("send_wecom_message", "（北京）修链服务运营",
                         "🧨🧨🧨 签约喜报 🧨🧨🧨\n恭喜 王强 签约合同 YHWX-BJ-202506-9999 并完成线上收款", "completed")
    unknown_prize_row = db.prizes(a("0012"), "completed", extra=["精英奖"])
    odd_status_row = db.group(a("0036")[0], "cancelled")

    state = tmp_path / "state"
    queued = {x.contract_id: "发送成功" for n in ("0008", "0012", "0016", "0017", "0018", "0019", "0024", "0028", "0030")
              for x in a(n)}
    write_status(state, "send_status_bj_jun.json", {**queued, "BJ2025069999": "发送成功"})
    write_status(state, "send_status_bj_jul.json", {"BJ2025070001": "发送成功"})
    write_status(state, "technician_status_record.json", {"c1": "通知成功"})

    sent = {x.award_id for n in ("0008", "0012", "0016", "0017", "0024", "0028") for x in a(n)}
    unsent = {x.award_id for x in awards} - sent
    problems = {f"tasks.db row {unknown_row}", f"tasks.db row {unknown_prize_row}", f"tasks.db row {odd_status_row}",
                "send_status_bj_jun.json entry 'BJ2025069999'", "send_status_bj_jul.json"}
    return db.path, state, sent, unsent, problems


def outbox(db_url: str) -> dict[str, tuple[str, str | None]]:
    with engine_for(db_url).connect() as conn:
        return {r.dedupe_key: (r.status, r.origin) for r in conn.execute(sa.select(messages))}


def _first_run_announces_only_what_the_old_system_did_not(cfg, runs, tmp_path):
    awards = month_awards(cfg)
    assert len(awards) == 11
    computed = runs.run(cfg, ("contracts", "rewards"), PARTITION)
    assert computed.success
    tasks_db, state, sent, unsent, problems = old_system_files(tmp_path, awards)
    client = runs.object_store().client()
    engine = engine_for(runs.db_url)

    dry = import_notices(cfg, engine, client, sqlite_path=tasks_db, status_dir=state, dry_run=True)
    assert {i["key"] for i in dry.imported} == sent and outbox(runs.db_url) == {}

    report = import_notices(cfg, engine, client, sqlite_path=tasks_db, status_dir=state)
    assert {i["key"] for i in report.imported} == sent
    assert {i["outcome"] for i in report.imported} == {"recorded"}
    by_key = {i["key"]: i["source"] for i in report.imported}
    assert by_key[on_contract(awards, "0028")[0].award_id] == "send_status_bj_jun.json entry 'BJ2025060028'"
    assert "(completed)" in by_key[on_contract(awards, "0017")[0].award_id]
    skipped = {s["key"] for s in report.skipped}
    assert skipped == unsent - {on_contract(awards, "0036")[0].award_id}  # 0036: no record at all
    assert all("pending" in s["source"] for s in report.skipped)
    assert {u["where"] for u in report.unmatched} == problems
    assert {i["where"] for i in report.ignored} == {"tasks.db: 1 send_wechat_message row(s)",
                                                    "technician_status_record.json"}
    assert outbox(runs.db_url) == {key: ("sent", "imported") for key in sent}
    text = "\n".join(report.lines())
    assert "prize '精英奖' of contract YHWX-BJ-202506-0012" in text and "give --year" not in text
    assert "incentives.yaml has no campaign of BJ in month 07" in text

    again = import_notices(cfg, engine, client, sqlite_path=tasks_db, status_dir=state)
    assert {i["outcome"] for i in again.imported} == {"already sent"}

    first = runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert first.success
    meta = materialization(first, "reward_notices")
    assert meta["notices_sent"] == len(unsent) and meta["already_sent"] == len(sent)
    return awards, unsent


def _announced_contracts(robot) -> list[str]:
    return sorted(next(w for w in t.split() if w.startswith("YHWX-")) for t in robot.texts())


@pytest.fixture
def scenario(cfg, robot, runs, tmp_path):
    return cfg, robot, runs, tmp_path


def check_exactly_once(cfg, robot, runs, tmp_path):
    awards, unsent = _first_run_announces_only_what_the_old_system_did_not(cfg, runs, tmp_path)
    expected = sorted(a.contract_no for a in awards if a.award_id in unsent)
    assert _announced_contracts(robot) == expected == [
        "YHWX-BJ-202506-0018", "YHWX-BJ-202506-0019", "YHWX-BJ-202506-0030", "YHWX-BJ-202506-0036"]
    runs.clock.advance(180)
    second = runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert second.success and materialization(second, "reward_notices")["notices_sent"] == 0
    assert _announced_contracts(robot) == expected
    statuses = outbox(runs.db_url)
    assert sorted(k for k, (s, o) in statuses.items() if o == "imported") == sorted(
        a.award_id for a in awards if a.award_id not in unsent)
    assert {s for s, _ in statuses.values()} == {"sent"}


def test_import_then_first_run_sends_only_the_missing_notices(scenario):
    check_exactly_once(*scenario)


@pytest.mark.slow
def test_import_on_mariadb_and_s3(scenario, mysql_url, minio_store):
    cfg, robot, runs, tmp_path = scenario
    check_exactly_once(cfg, robot, runs.on(mysql_url).with_store(minio_store), tmp_path)


def test_old_files_that_are_no_such_files_are_refused_by_name(cfg, runs, tmp_path):
    bogus = tmp_path / "tasks.db"
    bogus.write_text("not a database")
    engine, client = engine_for(runs.db_url), runs.object_store().client()
    with pytest.raises(ValueError, match=r"tasks.db: not an SQLite database"):
        import_notices(cfg, engine, client, sqlite_path=bogus)
    with pytest.raises(ValueError, match=r"nowhere: no such folder"):
        import_notices(cfg, engine, client, status_dir=tmp_path / "nowhere")


def test_held_notices_the_old_system_did_not_send_are_queued_once_shadow_is_off(cfg, robot, runs, tmp_path):
    """A shadow week held every notice; the import marks what the old system sent and
    queues the rest, which the first run after the cutover sends."""
    awards = month_awards(cfg)
    shadow = runs.shadowed().run(cfg, REWARD_ASSETS, PARTITION)
    assert shadow.success and robot.messages == []
    assert materialization(shadow, "reward_notices")["notices_held"] == len(awards)
    assert {s for s, _ in outbox(runs.db_url).values()} == {"held"}
    tasks_db, state, sent, unsent, _ = old_system_files(tmp_path, awards)
    engine, client = engine_for(runs.db_url), runs.object_store().client()

    still = import_notices(cfg, engine, client, sqlite_path=tasks_db, status_dir=state, shadow=True,
                           now=runs.clock())
    assert still.still_held == len(unsent) and still.released == 0
    assert {i["outcome"] for i in still.imported} == {"marked sent"}

    report = import_notices(cfg, engine, client, sqlite_path=tasks_db, status_dir=state, now=runs.clock())
    assert report.released == len(unsent)
    after = runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert after.success
    assert len(robot.messages) == len(unsent)
    runs.clock.advance(180)
    runs.run(cfg, REWARD_ASSETS, PARTITION)
    assert len(robot.messages) == len(unsent)


def test_the_command_prints_what_it_imported_skipped_and_could_not_match(cfg, runs, tmp_path, monkeypatch,
                                                                          capsys):
    from yd_platform.cli.main import main
    from yd_platform_tests.incentives.helpers import TEST_CONFIG

    assert runs.run(cfg, ("contracts", "rewards"), PARTITION).success
    tasks_db, state, sent, unsent, problems = old_system_files(tmp_path, month_awards(cfg))
    config = tmp_path / "incentives.yaml"
    config.write_text(TEST_CONFIG, encoding="utf-8")
    monkeypatch.setenv("YD_INCENTIVES_CONFIG", str(config))
    monkeypatch.setenv("YD_APP_DB_URL", runs.db_url)
    args = ["incentives", "import-notices", "--sqlite", str(tasks_db), "--status-dir", str(state)]
    capsys.readouterr()  # the runs' event log
    assert main([*args, "--dry-run"]) == 0
    text, progress = capsys.readouterr()
    assert progress.splitlines()[:2] == ["matching the old records with the platform's awards ...",
                                         "matching the old records with the platform's awards: "
                                         f"{len(sent) + 3}  awards matched"]
    assert progress.splitlines()[-1] == f"recording the sent notices: {len(sent)}/{len(sent)}  dry run"
    assert f"would import {len(sent)} award notice(s) as sent by the old system:" in text
    assert "skipped 3 (the old system did not send them; the platform announces them):" in text
    assert f"not matched {len(problems)}:" in text
    assert "send_status_bj_jun.json entry 'BJ2025069999': no contract with this id" in text
    assert outbox(runs.db_url) == {}
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {i["key"] for i in report["imported"]} == sent and report["dry_run"] is False
    assert outbox(runs.db_url) == {key: ("sent", "imported") for key in sent}
    assert main(["incentives", "import-notices"]) == 1
    assert "give --sqlite PATH and/or --status-dir DIR" in capsys.readouterr().err
