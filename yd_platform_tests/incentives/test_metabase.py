"""The Metabase REST source against a fake Metabase on 127.0.0.1."""

from __future__ import annotations

import pytest

from yd_platform.resources.metabase import MetabaseError, MetabaseResource, template_parameter
from yd_platform_tests.dagster_events import materialization
from yd_platform_tests.incentives.helpers import REWARD_ASSETS
from yd_platform_tests.incentives.metabase_server import FakeMetabase


def _contract_rows(params):
    assert params["province"] == "110000"
    return [{"合同ID(_id)": f"M{i}", "合同编号(contractdocNum)": f"YHWX-{i}", "管家(serviceHousekeeper)": "张三",
             "服务商(orgName)": "甲装饰公司", "合同金额(adjustRefundMoney)": 15000,
             "签约时间(signedDate)": f"{params['month']}-0{i}T10:00:00+08:00"} for i in range(1, 9)]


@pytest.fixture
def metabase():
    with FakeMetabase({11: _contract_rows, 99: [{"合同ID(_id)": "X"}]}) as server:
        yield server


def test_api_key_query_with_parameters(metabase):
    mb = MetabaseResource(url=metabase.base, api_key=FakeMetabase.API_KEY)
    rows = mb.query_card(11, [template_parameter("month", "2025-06"), template_parameter("province", "110000")])
    assert len(rows) == 8
    assert metabase.calls[0]["parameters"][0] == {
        "type": "category", "target": ["variable", ["template-tag", "month"]], "value": "2025-06"}


def test_session_login_and_renewal_after_expiry(metabase):
    mb = MetabaseResource(url=metabase.base, username="ops@example.com", password="pw")
    params = [template_parameter("month", "2025-06"), template_parameter("province", "110000")]
    assert len(mb.query_card(11, params)) == 8
    metabase.sessions.clear()
    assert len(mb.query_card(11, params)) == 8
    assert len(metabase.calls) == 2


def test_errors_name_the_card_not_the_secret(metabase):
    with pytest.raises(MetabaseError, match="Metabase card 404: HTTP 404"):
        MetabaseResource(url=metabase.base, api_key=FakeMetabase.API_KEY).query_card(404)
    with pytest.raises(MetabaseError) as err:
        MetabaseResource(url=metabase.base, api_key="wrong-key").query_card(11)
    assert "wrong-key" not in str(err.value)
    with pytest.raises(MetabaseError, match="login .* failed: HTTP 401"):
        MetabaseResource(url=metabase.base, username="ops@example.com", password="bad").query_card(11)


def test_contracts_and_rewards_from_metabase(cfg, robot, runs, metabase):
    mb = MetabaseResource(url=metabase.base, api_key=FakeMetabase.API_KEY)
    result = runs.run(cfg, REWARD_ASSETS, "BJ|2025-06", mb)
    assert result.success
    assert materialization(result, "contracts")["source"] == "metabase card 11"
    names = [t.split("🧧 达成 ")[1].split(" 奖励条件")[0] for t in robot.texts()]
    assert names == ["达标奖", "优秀奖", "接好运万元以上"]
    assert "👊 恭喜已经达成所有奖励，祝愿再接再厉，再创佳绩 🎉🎉🎉。" in robot.texts()[-1]
    assert "累计计入业绩 60,000 元" in robot.texts()[1]


def test_missing_column_is_named(cfg, robot, runs, metabase):
    bad = cfg.model_copy(update={"cities": {**cfg.cities, "BJ": cfg.cities["BJ"].model_copy(
        update={"contracts_card": 99})}})
    result = runs.run(bad, ("contracts",), "BJ|2025-06", MetabaseResource(url=metabase.base,
                                                                       api_key=FakeMetabase.API_KEY))
    assert not result.success
    message = [e for e in result.all_events if e.is_step_failure][0].step_failure_data.error.message
    assert "Metabase card 99 (BJ 2025-06), row 1: column 'contract_no' missing" in message
