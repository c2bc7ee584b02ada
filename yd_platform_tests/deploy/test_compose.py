"""docker/ validated offline: `docker-compose config` resolves the stack with the
documented variables, and the files agree with each other (no engine runs here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
ENV_EXAMPLE = DOCKER / ".env.example"
LONG_RUNNING = {"mysql", "minio", "spark-master", "spark-worker", "code-location", "webserver", "daemon"}
DAGSTER_SERVICES = {"code-location", "webserver", "daemon"}


def compose_binary() -> str:
    found = shutil.which("docker-compose")
    if not found:
        pytest.fail("docker-compose is not installed: run `bash .ci/setup` "
                    "(it installs Debian's docker-compose package for this check)")
    return found


def compose_config(env_file: Path, workdir: Path) -> subprocess.CompletedProcess:
    """`docker-compose config` on a copy of docker/ whose .env is `env_file`, as an
    operator's checkout looks after `cp docker/.env.example docker/.env`."""
    copy = workdir / "docker"
    shutil.copytree(DOCKER, copy, dirs_exist_ok=True)
    shutil.copy(env_file, copy / ".env")
    # A bare environment, so nothing but the env file can satisfy required variables.
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [compose_binary(), "-f", str(copy / "docker-compose.yml"), "config"],
        capture_output=True, text=True, env=clean_env, timeout=120,
    )


def example_variables() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            out[name] = value
    return out


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict:
    result = compose_config(ENV_EXAMPLE, tmp_path_factory.mktemp("compose"))
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.slow
def test_stack_resolves_with_the_example_env(resolved):
    services = resolved["services"]
    assert LONG_RUNNING | {"minio-init"} <= set(services)
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["code-location"]["condition"] == "service_healthy"
        # the storage is migrated and its body columns widened before either writes to it
        assert services[name]["depends_on"]["dagster-init"]["condition"] == "service_completed_successfully"
    assert services["dagster-init"]["command"] == ["yd-platform", "prepare-instance"]
    assert services["code-location"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"
    assert services["mysql"]["image"].startswith("mysql:8")


@pytest.mark.slow
def test_dagster_services_get_every_instance_variable(resolved):
    instance_vars = set(re.findall(r"env:\s*(\w+)", (DOCKER / "dagster.yaml").read_text()))
    assert {"DAGSTER_MYSQL_HOST", "DAGSTER_MYSQL_PASSWORD", "DAGSTER_COMPUTE_LOGS_ENDPOINT_URL"} <= instance_vars
    for name in DAGSTER_SERVICES:
        env = resolved["services"][name]["environment"]
        missing = sorted(v for v in instance_vars if v not in env)
        assert not missing, f"{name} lacks {missing}"
        assert env["DAGSTER_HOME"] == "/opt/dagster/home"
        assert env["AWS_ACCESS_KEY_ID"] == example_variables()["YD_MINIO_ACCESS_KEY"]
        assert "YD_CRED_PDD_PDD_ACC_01_USER" in env, "merchant logins come from docker/.env"


@pytest.mark.slow
def test_missing_secret_is_named(tmp_path):
    without_password = tmp_path / "env"
    without_password.write_text("\n".join(
        f"{k}={v}" for k, v in example_variables().items() if k != "MYSQL_PASSWORD"
    ))
    result = compose_config(without_password, tmp_path)
    assert result.returncode != 0
    assert "set MYSQL_PASSWORD in docker/.env" in result.stderr, result.stderr


def test_every_variable_is_documented():
    documented = set(example_variables())
    compose_lines = [ln for ln in COMPOSE.read_text(encoding="utf-8").splitlines()
                     if not ln.lstrip().startswith("#")]
    used = set(re.findall(r"\$\{(\w+)", "\n".join(compose_lines)))
    assert not used - documented, f"undocumented in .env.example: {sorted(used - documented)}"
    settings_doc = (REPO / "yd_platform" / "settings.py").read_text(encoding="utf-8")
    platform_vars = set(re.findall(r"\b(YD_[A-Z_]+)\b", settings_doc)) - {"YD_HOME"}
    assert not platform_vars - documented, sorted(platform_vars - documented)


def test_workspace_points_at_the_code_location_service():
    workspace = yaml.safe_load((DOCKER / "workspace.yaml").read_text())
    server = workspace["load_from"][0]["grpc_server"]
    compose = yaml.safe_load(COMPOSE.read_text())
    command = compose["services"][server["host"]]["command"]
    assert command[command.index("-p") + 1] == str(server["port"])
    assert command[command.index("--location-name") + 1] == server["location_name"]


@pytest.mark.slow
def test_published_ports_stay_on_this_host_by_default(resolved):
    published = {name: svc["ports"] for name, svc in resolved["services"].items() if svc.get("ports")}
    assert {"webserver", "minio"} <= set(published)
    for name, ports in published.items():
        for port in ports:
            text = port if isinstance(port, str) else f"{port.get('host_ip', '')}:{port.get('published')}"
            assert text.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"


def test_bind_address_is_a_documented_variable():
    assert "YD_BIND_ADDRESS" in example_variables()
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert "WARNING" in text.split("YD_BIND_ADDRESS=")[0].rsplit("\n\n", 1)[-1]


def test_image_runs_as_a_user_without_privileges():
    users = [line.split()[1] for line in (DOCKER / "Dockerfile").read_text(encoding="utf-8").splitlines()
             if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), users


@pytest.mark.slow
def test_run_containers_join_the_compose_network_and_volume(resolved):
    instance = yaml.safe_load((DOCKER / "dagster.yaml").read_text(encoding="utf-8"))
    launcher = instance["run_launcher"]["config"]
    daemon = resolved["services"]["daemon"]
    assert daemon["environment"]["YD_DOCKER_NETWORK"] == resolved["networks"]["default"]["name"]
    volume = launcher["container_kwargs"]["volumes"][0].split(":")[0]
    assert volume == resolved["volumes"]["yd-home"]["name"]
    assert any("/var/run/docker.sock" in str(v) for v in daemon["volumes"])
    # every variable a run needs from the daemon's environment is passed on
    assert {"DAGSTER_MYSQL_PASSWORD", "YD_APP_DB_URL", "YD_MINIO_SECRET_KEY"} <= set(launcher["env_vars"])


@pytest.mark.slow
def test_spark_workers_share_no_folder_with_the_code_location(resolved):
    """The executors read features from MinIO (s3a) and user_tags over JDBC."""
    services = resolved["services"]
    assert not services["spark-worker"].get("volumes"), services["spark-worker"].get("volumes")
    assert services["code-location"]["environment"]["YD_TAGS_FEATURE_READ"] == "s3a"
    dockerfile = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    assert "yd_platform.tags.object_read --fetch-jars" in dockerfile  # the S3A jars are in the image
    instance = yaml.safe_load((DOCKER / "dagster.yaml").read_text(encoding="utf-8"))
    assert {"YD_TAGS_FEATURE_READ", "YD_SPARK_IVY_DIR"} <= set(instance["run_launcher"]["config"]["env_vars"])
