"""The object store: a bucket of an S3 server in production, a local folder embedded.

Both backends sit behind one small interface so stages never care which one runs.
Keys are always `/`-separated paths inside the bucket (or folder).

Everything that talks S3 takes its settings from `ObjectStoreResource`: the stores'
client (`s3_client`, the `minio` SDK, which speaks plain S3), DuckDB's reads
(`arrow_filesystem`), Spark's `s3a` settings (`s3a_settings`), Dremio's S3 source
(`resources.dremio`) and `yd-platform doctor` (`check`). The `YD_MINIO_*` variables
name the S3 endpoint, key pair and bucket, whatever server answers there.

`python -m yd_platform.resources.object_store` creates the bucket when it is missing
(the production stack's `s3-init`).
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import dagster as dg
from pydantic import Field

from yd_platform.deployment import Variables, yd_home
from yd_platform.resources.variables import env_field, from_environment
from yd_platform.resources.variables import resolved as resolved_copy


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


class ObjectStoreError(RuntimeError):
    """An object-store call failed; the message names backend, bucket/folder and key."""


class ObjectStore(Protocol):
    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...
    def put_file(self, key: str, path: str | os.PathLike[str]) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def download(self, key: str, path: str | os.PathLike[str]) -> None: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[ObjectInfo]: ...
    def delete(self, keys: list[str]) -> None: ...
    def uri(self, key: str) -> str: ...


def _clean(key: str) -> str:
    key = key.strip("/")
    if not key or ".." in key.split("/"):
        raise ObjectStoreError(f"invalid object key {key!r}")
    return key


def _temp_beside(path: Path) -> Path:
    """A hidden temp name next to `path` (listings skip dot-files, so readers never see it)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


class LocalObjectStore:
    """A folder that behaves like a bucket; writes go through a temp file and rename."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / _clean(key)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_beside(path)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, key: str, path: str | os.PathLike[str]) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_beside(target)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise ObjectStoreError(f"local object store {self.root}: no object {key!r}")
        return path.read_bytes()

    def download(self, key: str, path: str | os.PathLike[str]) -> None:
        src = self._path(key)
        if not src.is_file():
            raise ObjectStoreError(f"local object store {self.root}: no object {key!r}")
        shutil.copyfile(src, path)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[ObjectInfo]:
        prefix = prefix.strip("/")
        base = self.root / prefix if prefix else self.root
        if base.is_file():
            return [ObjectInfo(prefix, base.stat().st_size)]
        if not base.is_dir():
            return []
        out = []
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                out.append(ObjectInfo(path.relative_to(self.root).as_posix(), path.stat().st_size))
        return out

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            path = self._path(key)
            if path.is_file():
                path.unlink()

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()


class MinioObjectStore:
    """A bucket of any S3 server through the `minio` SDK (`ObjectStoreResource.s3_client`)."""

    def __init__(self, client, endpoint: str, bucket: str):
        self.client = client
        self.bucket = bucket
        self.endpoint = endpoint

    def _fail(self, action: str, key: str, exc: Exception) -> ObjectStoreError:
        return ObjectStoreError(f"minio {self.endpoint}/{self.bucket}: {action} {key!r} failed: {exc}")

    def ensure_bucket(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except Exception as exc:  # noqa: BLE001 - re-raised with context
            raise self._fail("create bucket", self.bucket, exc) from exc

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        try:
            self.client.put_object(self.bucket, _clean(key), io.BytesIO(data), len(data),
                                   content_type=content_type)
        except Exception as exc:  # noqa: BLE001
            raise self._fail("put", key, exc) from exc

    def put_file(self, key: str, path: str | os.PathLike[str]) -> None:
        try:
            self.client.fput_object(self.bucket, _clean(key), str(path))
        except Exception as exc:  # noqa: BLE001
            raise self._fail("upload", key, exc) from exc

    def get_bytes(self, key: str) -> bytes:
        try:
            resp = self.client.get_object(self.bucket, _clean(key))
            try:
                return resp.read()
            finally:
                resp.close()
                resp.release_conn()
        except Exception as exc:  # noqa: BLE001
            raise self._fail("get", key, exc) from exc

    def download(self, key: str, path: str | os.PathLike[str]) -> None:
        try:
            self.client.fget_object(self.bucket, _clean(key), str(path))
        except Exception as exc:  # noqa: BLE001
            raise self._fail("download", key, exc) from exc

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        try:
            self.client.stat_object(self.bucket, _clean(key))
            return True
        except S3Error as exc:
            if exc.code in {"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"}:
                return False
            raise self._fail("stat", key, exc) from exc
        except Exception as exc:  # noqa: BLE001
            raise self._fail("stat", key, exc) from exc

    def list(self, prefix: str) -> list[ObjectInfo]:
        prefix = prefix.strip("/")
        try:
            objs = self.client.list_objects(self.bucket, prefix=prefix + "/" if prefix else None,
                                            recursive=True)
            return sorted((ObjectInfo(o.object_name, o.size or 0) for o in objs), key=lambda o: o.key)
        except Exception as exc:  # noqa: BLE001
            raise self._fail("list", prefix, exc) from exc

    def delete(self, keys: list[str]) -> None:
        from minio.deleteobjects import DeleteObject

        if not keys:
            return
        try:
            errors = list(self.client.remove_objects(self.bucket, [DeleteObject(_clean(k)) for k in keys]))
        except Exception as exc:  # noqa: BLE001
            raise self._fail("delete", keys[0], exc) from exc
        if errors:
            raise ObjectStoreError(f"minio {self.endpoint}/{self.bucket}: delete failed for {errors[:3]}")

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{_clean(key)}"


BACKEND_VARIABLE = "YD_OBJECT_STORE"
ENDPOINT_VARIABLE = "YD_MINIO_ENDPOINT"
ACCESS_KEY_VARIABLE = "YD_MINIO_ACCESS_KEY"
SECRET_KEY_VARIABLE = "YD_MINIO_SECRET_KEY"
BUCKET_VARIABLE = "YD_MINIO_BUCKET"
SECURE_VARIABLE = "YD_MINIO_SECURE"
REGION_VARIABLE = "YD_MINIO_REGION"
CHECK_TIMEOUT_SECONDS = 5


class ObjectStoreResource(dg.ConfigurableResource):
    """Object store for raw files, merged Excel and ODS parquet.

    `backend=local` keeps objects under `root`; `backend=minio` is a bucket of an S3 server.
    """

    backend: Literal["local", "minio"] = "local"
    root: str = Field(default="", description="local backend: folder acting as the bucket")
    endpoint: str = Field(default="", description=f"S3 endpoint host:port ({ENDPOINT_VARIABLE})")
    access_key: str = Field(default="", description=f"S3 access key ({ACCESS_KEY_VARIABLE})")
    secret_key: str = Field(default="", description=f"S3 secret key ({SECRET_KEY_VARIABLE})")
    bucket: str = Field(default="warehouse", description=f"the bucket ({BUCKET_VARIABLE})")
    secure: bool = Field(default=False, description=f"https ({SECURE_VARIABLE})")
    region: str | None = Field(default=None, description=f"S3 region ({REGION_VARIABLE})")

    def s3_client(self, timeout: float | None = None):
        """The platform's S3 client (`minio.Minio`) for this endpoint and key pair. With a
        `timeout`, it gives up after that many seconds without retrying (checks)."""
        from minio import Minio

        if not self.endpoint:
            raise ObjectStoreError(f"object store backend 'minio' needs 'endpoint' ({ENDPOINT_VARIABLE})")
        http = None
        if timeout is not None:
            import urllib3

            http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=timeout, read=timeout),
                                       retries=urllib3.Retry(total=0))
        return Minio(self.endpoint, access_key=self.access_key, secret_key=self.secret_key,
                     secure=self.secure, region=self.region, http_client=http)

    def client(self) -> LocalObjectStore | MinioObjectStore:
        if self.backend == "local":
            if not self.root:
                raise ObjectStoreError("object store backend 'local' needs 'root' (a folder)")
            return LocalObjectStore(self.root)
        store = MinioObjectStore(self.s3_client(), self.endpoint, self.bucket)
        store.ensure_bucket()
        return store

    def resolved(self) -> ObjectStoreResource:
        """The same settings with `dg.EnvVar` fields read from the environment, for use
        outside a Dagster run (commands); inside a run Dagster resolves them itself."""
        return resolved_copy(self)

    def endpoint_url(self) -> str:
        """The S3 endpoint as a URL (`http://host:port`)."""
        if "://" in self.endpoint:
            return self.endpoint
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"

    def s3a_settings(self) -> dict[str, str]:
        """Hadoop's S3A settings (as Spark `spark.hadoop.*` keys) for this bucket's server:
        path-style addressing, which every S3 server answers. No key pair: the session's
        settings are shown in the UI, so the keys go in at run time (`s3a_credentials`)."""
        settings = {
            "spark.hadoop.fs.s3a.endpoint": self.endpoint_url(),
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": "true" if self.secure else "false",
            "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        }
        if self.region:
            settings["spark.hadoop.fs.s3a.endpoint.region"] = self.region
        return settings

    def s3a_credentials(self) -> dict[str, str]:
        """The key pair as Hadoop settings, set on a running session's Hadoop configuration
        (which Spark ships with each read to the executors)."""
        return {"fs.s3a.access.key": self.access_key, "fs.s3a.secret.key": self.secret_key}

    def arrow_filesystem(self):
        """(pyarrow filesystem, base path) of the same objects, for readers such as DuckDB
        that scan parquet through pyarrow datasets instead of downloading each object."""
        from pyarrow import fs as pafs

        if self.backend == "local":
            if not self.root:
                raise ObjectStoreError("object store backend 'local' needs 'root' (a folder)")
            Path(self.root).mkdir(parents=True, exist_ok=True)
            return pafs.LocalFileSystem(), Path(self.root).resolve().as_posix()
        filesystem = pafs.S3FileSystem(
            access_key=self.access_key or None,
            secret_key=self.secret_key or None,
            endpoint_override=self.endpoint,
            scheme="https" if self.secure else "http",
            region=self.region or "us-east-1",
            allow_bucket_creation=False,
        )
        return filesystem, self.bucket

    def check(self) -> str:
        """Whether the store can be used: the local folder writable, or the S3 server
        answering with the bucket there (one try, short timeouts). Says what it found;
        raises ObjectStoreError naming the problem (never a key)."""
        if self.backend == "local":
            root = Path(self.root)
            try:
                root.mkdir(parents=True, exist_ok=True)
                probe = root / f".check-{uuid.uuid4().hex}"
                probe.write_bytes(b"ok")
                probe.unlink()
            except OSError as exc:
                raise ObjectStoreError(f"local folder {root}: {exc}") from None
            return f"local folder {root}"
        unset = [name for name, value in ((ACCESS_KEY_VARIABLE, self.access_key),
                                          (SECRET_KEY_VARIABLE, self.secret_key)) if not value]
        if unset:
            raise ObjectStoreError(f"S3 {self.endpoint}: {', '.join(unset)} not set")
        try:
            exists = self.s3_client(timeout=CHECK_TIMEOUT_SECONDS).bucket_exists(self.bucket)
        except Exception as exc:  # noqa: BLE001 - re-raised with the endpoint named
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            raise ObjectStoreError(f"S3 {self.endpoint}: {type(exc).__name__}: {first}") from None
        if not exists:
            raise ObjectStoreError(f"S3 {self.endpoint}: bucket {self.bucket!r} does not exist")
        return f"S3 {self.endpoint}, bucket {self.bucket!r}"


def object_store_for(variables: Variables) -> ObjectStoreResource:
    """The deployment's object store: embedded, a folder under YD_HOME unless
    YD_OBJECT_STORE=minio; production, the S3 bucket of YD_MINIO_* unless YD_OBJECT_STORE=local."""
    backend = variables.choice(BACKEND_VARIABLE, ("local", "minio"), embedded="local", production="minio")
    if backend == "local":
        return ObjectStoreResource(backend="local", root=str(yd_home() / "objects"))
    return ObjectStoreResource(
        backend="minio",
        endpoint=env_field(variables, ENDPOINT_VARIABLE, "object store: the S3 endpoint, host:port",
                           embedded="127.0.0.1:9000"),
        access_key=env_field(variables, ACCESS_KEY_VARIABLE, "object store: the S3 access key"),
        secret_key=env_field(variables, SECRET_KEY_VARIABLE, "object store: the S3 secret key"),
        bucket=env_field(variables, BUCKET_VARIABLE, "object store: the bucket (raw files, ODS tables, step logs)",
                         embedded="warehouse"),
        secure=variables.flag(SECURE_VARIABLE),
        region=variables.value(REGION_VARIABLE),
    )


def object_store_from_env(deployment: str | None = None) -> ObjectStoreResource:
    """The deployment's object store with its settings read now (commands, tests)."""
    return from_environment(object_store_for, deployment)


def main() -> int:
    """Create the bucket when it is missing (the production stack's `s3-init`)."""
    store = object_store_from_env()
    store.client()
    print(f"bucket {store.bucket} ready" if store.backend == "minio" else f"folder {store.root} ready")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
