"""Columns line up after Chinese names: every table a command prints pads by display width
(a Chinese character takes two terminal columns)."""

from __future__ import annotations

import json
import re
from datetime import date

from yd_platform.cli.main import main
from yd_platform.cli.status import dataset_status, recent_periods, render
from yd_platform.cli.terminal import columns, grid, width
from yd_platform.datasets.partitions import shop_partitions
from yd_platform.deployment import app_db_url
from yd_platform.resources.app_db import engine_for
from yd_platform.tags.tables import save_tag

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def offset(line: str, index: int) -> int:
    """The terminal column where `line[index]` is shown."""
    return width(line[:index])


def test_display_width_counts_wide_characters_twice():
    assert width("abc") == 3 and width("差评数据") == 8 and width("BOM表") == 5 and width("（日度）") == 8
    lines = columns([["名称", "x"], ["客服绩效（日度）", "y"], ["BOM表", "z"], ["ascii", "w"]])
    assert {offset(line, len(line) - 1) for line in lines} == {18}
    assert columns([["7", "名"], ["123", "长名字"]], align=">") == ["  7  名", "123  长名字"]


def test_grid_lines_up_chinese_cells():
    lines = grid(["店铺", "rows"], [["拼多多旗舰店", 3], ["kids", 12]]).splitlines()
    assert len({width(line) for line in lines}) == 1
    assert len({offset(line, line.rindex("|", 0, len(line) - 1)) for line in lines if line.startswith("|")}) == 1


def test_plan_columns_line_up_after_chinese_dataset_names(yd_home, capsys):
    assert main(["plan", "--schedule", "daily", "--date", "2025-10-02"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if re.match(r"  \d\d:\d\d  ", line)]
    names = {line.split()[2] for line in rows}
    assert {"用户基础信息", "BOM表", "客服绩效（日度）"} <= names  # names of different widths
    assert len({offset(line, DAY.search(line).start()) for line in rows}) == 1  # the partition column
    shops = [line.index(shop) for line, shop in ((line, line.split()[5]) for line in rows)]
    assert len({offset(line, i) for line, i in zip(rows, shops)}) == 1  # the shops column


def test_status_matrix_lines_up_after_chinese_shop_names(instance, catalog):
    ds = catalog.dataset("pdd", "badscore")
    instance.add_dynamic_partitions(shop_partitions("pdd").name, ["拼多多旗舰店", "kids", "童装"])
    status = dataset_status(instance, catalog, ds, recent_periods(ds, date(2025, 10, 3), 2))
    lines = render(status).splitlines()[1:]
    assert [line.split()[0] for line in lines[1:]] == ["kids", "拼多多旗舰店", "童装", "(published)"]
    first_period = [offset(lines[0], lines[0].index("2025-10-01"))]
    first_period += [offset(line, len(line.split()[0]) + len(line[len(line.split()[0]):]) -
                            len(line[len(line.split()[0]):].lstrip())) for line in lines[1:]]
    assert len(set(first_period)) == 1, lines
    second = [offset(line, line.rindex(line.split()[-1])) for line in lines]
    assert len(set(second)) == 1, lines


def test_tags_list_lines_up_after_chinese_tag_names(yd_home, capsys):
    engine = engine_for(app_db_url())
    rule = {"logic": "AND", "conditions": [{"field": "chat_sessions", "operator": ">=", "value": 2, "type": "number"}]}
    save_tag(engine, 1, "多次咨询", rule, category="行为分析")
    save_tag(engine, 12, "vip", rule)
    save_tag(engine, 305, "高价值沉睡用户", rule, category="价值")
    assert main(["tags", "list"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.rstrip().endswith(" ok")]
    assert len(rows) == 3
    assert len({offset(line, line.rindex(" ok") + 1) for line in rows}) == 1  # the state column
    assert len({offset(line, line.index("[")) for line in rows}) == 1  # the category column


def test_pms_list_lines_up_after_chinese_service_names(capsys):
    assert main(["pms", "list", "--json"]) == 0
    services = json.loads(capsys.readouterr().out)["services"]
    assert main(["pms", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in lines[1:] if line.split()[0] in {s["id"] for s in services}}
    assert len({width(s["name"]) for s in services}) > 1  # names of different widths
    crons = {offset(rows[s["id"]], rows[s["id"]].index(s["cron_expression"], len(s["id"]) + 2)) for s in services}
    assert len(crons) == 1
