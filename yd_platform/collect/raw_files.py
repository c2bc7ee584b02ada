"""Raw report files in the object store: writing one, and telling whether one is in.

A raw partition's file lives at `raw/<platform>/<dataset>/<partition>/<shop>.<ext>`; its
materialization records the object and the file's sha256, so "already in" means: the
object the instance names is there with that same content.
"""

from __future__ import annotations

import hashlib

from yd_platform.catalog import DatasetSpec
from yd_platform.datasets.layout import raw_object, raw_prefix


def store_raw(store, ds: DatasetSpec, period_key: str, shop: str, data: bytes, ext: str) -> str:
    """Write the raw file, removing the shop's file of another type from an earlier run."""
    key = raw_object(ds, period_key, shop, ext)
    stale = [o.key for o in store.list(raw_prefix(ds, period_key))
             if o.key.rsplit("/", 1)[-1].rsplit(".", 1)[0] == shop and o.key != key]
    store.put_bytes(key, data)
    store.delete(stale)
    return key


def stored_intact(store, key: str, sha256: str) -> bool:
    """Whether `key` is in the store with the content whose digest is `sha256`."""
    if not key or not sha256 or not store.exists(key):
        return False
    return hashlib.sha256(store.get_bytes(key)).hexdigest() == sha256


def object_store_sink(store):
    """Diagnostics (screenshots, pages) go to the object store; the UI shows their URI."""
    def keep(key: str, data: bytes, content_type: str) -> str:
        store.put_bytes(key, data, content_type)
        return store.uri(key)

    return keep
