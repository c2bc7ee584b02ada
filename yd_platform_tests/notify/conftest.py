import pytest

from yd_platform.notify.config import ChannelConfig, NotifyConfig
from yd_platform_tests.notify.receiver import Receiver


class Clock:
    def __init__(self, start: float = 1_760_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def receiver():
    with Receiver() as rec:
        yield rec


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def channels_env(monkeypatch, receiver):
    monkeypatch.setenv("T_WECOM_URL", f"{receiver.url}/cgi-bin/webhook/send?key=wecom-secret-key")
    monkeypatch.setenv("T_DING_URL", f"{receiver.url}/robot/send?access_token=ding-token")
    monkeypatch.setenv("T_DING_SECRET", "SECdingsecret")
    monkeypatch.setenv("YD_UI_URL", "http://dagster.example:3000")


def make_config(per_minute: int = 20, escalate_after_minutes: float = 120) -> NotifyConfig:
    return NotifyConfig(
        channels={
            "wecom": ChannelConfig(type="wecom", url_env="T_WECOM_URL", per_minute=per_minute),
            "ding": ChannelConfig(type="dingtalk", url_env="T_DING_URL", secret_env="T_DING_SECRET",
                                  per_minute=per_minute),
        },
        default_channels=["wecom"],
        escalation_channels=["ding"],
        escalate_after_minutes=escalate_after_minutes,
        retry_base_seconds=30,
        retry_max_seconds=600,
    )
