"""docker/ validated offline: `docker-compose config` resolves the stack with the
documented variables, and the files agree with each other (no engine runs here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest
import yaml

from yd_platform_tests.processes import EVENT_DEADLINE_SECONDS, REPO

DOCKER = REPO / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
ENV_EXAMPLE = DOCKER / ".env.example"
LONG_RUNNING = {"mysql", "s3", "s3-console", "spark-master", "spark-worker", "dremio", "code-location",
                "webserver", "daemon", "api", "dashboard"}
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
        capture_output=True, text=True, env=clean_env, timeout=EVENT_DEADLINE_SECONDS,
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
    assert LONG_RUNNING | {"s3-init"} <= set(services)
    for name in LONG_RUNNING:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["s3-init"]["depends_on"]["s3"]["condition"] == "service_healthy"
    for name in ("webserver", "daemon"):
        assert services[name]["depends_on"]["code-location"]["condition"] == "service_healthy"
        # the storage is migrated and its body columns widened before either writes to it
        assert services[name]["depends_on"]["dagster-init"]["condition"] == "service_completed_successfully"
    assert services["dagster-init"]["command"] == ["yd-platform", "prepare-instance"]
    for name in ("code-location", "dashboard", "dremio-init"):
        assert services[name]["depends_on"]["s3-init"]["condition"] == "service_completed_successfully"
    assert services["mysql"]["image"].startswith("mysql:8.4.")


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
    deployment_doc = (REPO / "yd_platform" / "deployment.py").read_text(encoding="utf-8")
    # every variable the deployment's table names (not name patterns such as YD_CRED_<...>)
    platform_vars = {v for v in re.findall(r"\b(YD_[A-Z_]+)\b", deployment_doc) if not v.endswith("_")} - {"YD_HOME"}
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
    assert {"webserver", "s3-console"} <= set(published)
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
    assert "yd_platform.tags.features.object_read --fetch-jars" in dockerfile  # the S3A jars are in the image
    instance = yaml.safe_load((DOCKER / "dagster.yaml").read_text(encoding="utf-8"))
    assert {"YD_TAGS_FEATURE_READ", "YD_SPARK_IVY_DIR"} <= set(instance["run_launcher"]["config"]["env_vars"])


# name[:tag]; a version tag starts with a digit or "v" and a digit (4.44, 8.4.11, v1.7.0)
PINNED = re.compile(r"^[a-z0-9./_-]+:v?\d+(\.\d+)+[\w.-]*$")


@pytest.mark.slow
def test_every_image_is_pinned_to_a_version(resolved):
    images = {name: svc.get("image", "") for name, svc in resolved["services"].items()}
    for name, image in images.items():
        assert PINNED.match(image), f"{name}: image {image!r} is not pinned to a version (no :latest, no bare name)"
    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert images["code-location"] == f"yd-platform:{version}", "tag the platform image with the package version"
    assert images["spark-master"] == images["spark-worker"] == f"apache/spark:{pyspark_version()}"


def pyspark_version() -> str:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    return next(d.split("==")[1] for d in deps if d.startswith("pyspark=="))


def test_image_base_and_compose_defaults_are_pinned():
    bases = [ln.split()[1] for ln in (DOCKER / "Dockerfile").read_text(encoding="utf-8").splitlines()
             if ln.startswith("FROM ")]
    assert bases and all(re.match(r"^python:\d+\.\d+\.\d+-", b) for b in bases), bases
    text = COMPOSE.read_text(encoding="utf-8")
    assert ":latest" not in text
    for image in re.findall(r"^\s*image:\s*(\S+)", text, flags=re.M):
        default = re.sub(r"^\$\{\w+:-(.*)\}$", r"\1", image)
        assert PINNED.match(default), f"image {image!r} has no pinned default"
    assert not [ln for ln in example_variables().values() if ln.endswith(":latest")]


@pytest.mark.slow
def test_object_store_answers_as_s3_and_as_minio(resolved):
    """Older docker/.env files say YD_MINIO_ENDPOINT=minio:9000; that name still reaches it."""
    services = resolved["services"]
    s3 = services["s3"]
    assert "minio" in s3["networks"]["default"]["aliases"]
    assert "-s3.port=9000" in s3["command"] and "-master.telemetry=false" in s3["command"]
    assert s3["environment"]["AWS_ACCESS_KEY_ID"] == example_variables()["YD_MINIO_ACCESS_KEY"]
    env = services["code-location"]["environment"]
    assert env["YD_MINIO_ENDPOINT"] == "s3:9000" and env["DAGSTER_COMPUTE_LOGS_ENDPOINT_URL"] == "http://s3:9000"
    assert any(str(v).startswith("s3-data:") or "s3-data" in str(v) for v in s3["volumes"])


@pytest.mark.slow
def test_bucket_init_creates_the_bucket_on_an_s3_server(resolved, s3_server, tmp_path):
    """The s3-init service's own command, on moto's S3 server: the bucket appears, and a
    second start finds it there."""
    import boto3

    command = resolved["services"]["s3-init"]["command"]
    bucket = f"warehouse-init-{uuid.uuid4().hex[:8]}"  # the session's S3 server: a bucket of the test's own
    # s3_server is host:port, as YD_MINIO_ENDPOINT names it
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "YD_HOME": str(tmp_path / "yd_home"),
           "YD_OBJECT_STORE": "minio", "YD_MINIO_ENDPOINT": s3_server, "YD_MINIO_ACCESS_KEY": "yd-test",
           "YD_MINIO_SECRET_KEY": "yd-test-secret", "YD_MINIO_BUCKET": bucket, "YD_MINIO_SECURE": "false"}
    for attempt in ("creates", "finds"):
        result = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, text=True,
                                timeout=EVENT_DEADLINE_SECONDS)
        assert result.returncode == 0, f"{attempt}: {result.stderr}"
        assert f"bucket {bucket} ready" in result.stdout
    client = boto3.client("s3", endpoint_url=f"http://{s3_server}", aws_access_key_id="yd-test",
                          aws_secret_access_key="yd-test-secret", region_name="us-east-1")
    assert bucket in {b["Name"] for b in client.list_buckets()["Buckets"]}


@pytest.mark.slow
def test_code_location_reaches_the_docker_engine_for_the_cleanup_sensor(resolved):
    services = resolved["services"]
    for name in ("code-location", "daemon", "webserver"):
        assert any("/var/run/docker.sock" in str(v) for v in services[name]["volumes"]), name
    instance = yaml.safe_load((DOCKER / "dagster.yaml").read_text(encoding="utf-8"))
    kwargs = instance["run_launcher"]["config"]["container_kwargs"]
    assert kwargs["auto_remove"] is False and kwargs["labels"] == {"yd_platform/container": "run"}
