"""The API reports the deployment `YD_DEPLOYMENT` names as its environment, whatever database it uses."""

import pytest

from yd_platform.api.settings import ApiSettings
from yd_platform.deployment import DeploymentError


def test_environment_is_the_deployment(yd_home, monkeypatch):
    # the embedded default on a MySQL app database is still the embedded default
    monkeypatch.setenv("YD_APP_DB_URL", "mysql+pymysql://yd@127.0.0.1:3306/yd_app")
    assert ApiSettings.from_env().environment == "embedded"

    monkeypatch.setenv("YD_DEPLOYMENT", "production")
    monkeypatch.setenv("YD_UI_URL", "http://dagster.internal:3000")
    settings = ApiSettings.from_env()
    assert settings.environment == "production" and settings.dagster_url == "http://dagster.internal:3000"


def test_an_unknown_deployment_is_refused_naming_it(yd_home, monkeypatch):
    monkeypatch.setenv("YD_DEPLOYMENT", "staging")
    with pytest.raises(DeploymentError, match="YD_DEPLOYMENT='staging': use embedded or production"):
        ApiSettings.from_env()
