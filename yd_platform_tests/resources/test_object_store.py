"""Both object-store backends behave the same; MinIO runs against the loopback S3 server."""

import pytest

from yd_platform.resources.object_store import ObjectStoreError, ObjectStoreResource


def _round_trip(store, tmp_path):
    store.put_bytes("ods/x/dt=2025-10-01/part-00000.parquet", b"one")
    store.put_bytes("ods/x/dt=2025-10-02/part-00000.parquet", b"two!")
    store.put_bytes("ods/xy/other.txt", b"not under ods/x")
    src = tmp_path / "upload.bin"
    src.write_bytes(b"from a file")
    store.put_file("raw/p/d/2025-10-01/shop.xlsx", src)

    assert store.get_bytes("ods/x/dt=2025-10-02/part-00000.parquet") == b"two!"
    assert [(o.key, o.size) for o in store.list("ods/x")] == [
        ("ods/x/dt=2025-10-01/part-00000.parquet", 3), ("ods/x/dt=2025-10-02/part-00000.parquet", 4)]
    assert store.exists("raw/p/d/2025-10-01/shop.xlsx")
    assert not store.exists("raw/p/d/2025-10-01/nope.xlsx")
    store.download("raw/p/d/2025-10-01/shop.xlsx", tmp_path / "down.bin")
    assert (tmp_path / "down.bin").read_bytes() == b"from a file"

    store.put_bytes("ods/x/dt=2025-10-01/part-00000.parquet", b"replaced")
    assert store.get_bytes("ods/x/dt=2025-10-01/part-00000.parquet") == b"replaced"
    store.delete(["ods/x/dt=2025-10-01/part-00000.parquet", "ods/x/never-there"])
    assert [o.key for o in store.list("ods/x")] == ["ods/x/dt=2025-10-02/part-00000.parquet"]
    with pytest.raises(ObjectStoreError, match="dt=2025-10-01/part-00000.parquet"):
        store.get_bytes("ods/x/dt=2025-10-01/part-00000.parquet")
    with pytest.raises(ObjectStoreError, match="invalid object key"):
        store.put_bytes("../escape", b"")


def test_local_round_trip(tmp_path):
    resource = ObjectStoreResource(backend="local", root=str(tmp_path / "bucket"))
    _round_trip(resource.client(), tmp_path)
    assert not [p for p in (tmp_path / "bucket").rglob(".*")], "temp files left behind"
    assert resource.client().uri("a/b.parquet").startswith("file://")


@pytest.mark.slow
def test_minio_round_trip(minio_store, tmp_path):
    store = minio_store.client()
    _round_trip(store, tmp_path)
    assert store.uri("a/b.parquet") == f"s3://{minio_store.bucket}/a/b.parquet"


@pytest.mark.slow
def test_minio_unreachable_endpoint_is_named():
    resource = ObjectStoreResource(backend="minio", endpoint="127.0.0.1:9", access_key="a",
                                   secret_key="b", bucket="nope", region="us-east-1")
    with pytest.raises(ObjectStoreError, match="minio 127.0.0.1:9/nope: create bucket"):
        resource.client()


def test_resolved_reads_env_secrets(monkeypatch):
    import dagster as dg

    monkeypatch.setenv("YD_TEST_MINIO_SECRET", "s3cret")
    resource = ObjectStoreResource(backend="minio", endpoint="h:9000", access_key="ak",
                                   secret_key=dg.EnvVar("YD_TEST_MINIO_SECRET"))
    resolved = resource.resolved()
    assert (resolved.access_key, resolved.secret_key, resolved.endpoint) == ("ak", "s3cret", "h:9000")
