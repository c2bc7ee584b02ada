"""The object store: MinIO in production, a local folder in the embedded default.

Both backends sit behind one small interface so stages never care which one runs.
Keys are always `/`-separated paths inside the bucket (or folder).
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
    """A MinIO (or any S3-compatible) bucket through the `minio` SDK."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str,
                 secure: bool = False, region: str | None = None):
        from minio import Minio

        self.bucket = bucket
        self.endpoint = endpoint
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                            secure=secure, region=region)

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


class ObjectStoreResource(dg.ConfigurableResource):
    """Object store for raw files, merged Excel and ODS parquet.

    `backend=local` keeps objects under `root`; `backend=minio` talks to a MinIO endpoint.
    """

    backend: Literal["local", "minio"] = "local"
    root: str = Field(default="", description="local backend: folder acting as the bucket")
    endpoint: str = ""
    access_key: str = ""
    secret_key: str = ""
    bucket: str = "warehouse"
    secure: bool = False
    region: str | None = None

    def client(self) -> LocalObjectStore | MinioObjectStore:
        if self.backend == "local":
            if not self.root:
                raise ObjectStoreError("object store backend 'local' needs 'root' (a folder)")
            return LocalObjectStore(self.root)
        if not self.endpoint:
            raise ObjectStoreError("object store backend 'minio' needs 'endpoint' (YD_MINIO_ENDPOINT)")
        store = MinioObjectStore(self.endpoint, self.access_key, self.secret_key, self.bucket,
                                 self.secure, self.region)
        store.ensure_bucket()
        return store

    def resolved(self) -> ObjectStoreResource:
        """The same settings with `dg.EnvVar` secrets read from the environment, for use
        outside a Dagster run (CLI commands); inside a run Dagster resolves them itself."""
        values = dict(self._convert_to_config_dictionary())
        for name, value in list(values.items()):
            if isinstance(value, dict) and set(value) == {"env"}:
                values[name] = dg.EnvVar(value["env"]).get_value() or ""
        return ObjectStoreResource(**values)

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
