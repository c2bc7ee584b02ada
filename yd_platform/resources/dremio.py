"""Dremio's REST API: after a table's parquet changed, refresh its metadata, then its
reflections, as the old refresh service did; and keep the table's old-shape view.

Layout: the S3 source `yd` reads the object store's bucket, so the typed table of
`ods/pdd/pdd_badscore` is the promoted folder `yd.warehouse.ods.pdd.pdd_badscore`
(partition column `dt` inferred from the `dt=` folders). The old name
`minio.warehouse.ods.pdd.pdd_badscore` is a view in the space `minio` (folders
`warehouse`, `ods`, `pdd`) over that table, in the old shape (`tables.old_shape`).
A view cannot sit at the path of a promoted folder, so the old name can only be the
view's when no source is called `minio`.

1. Log in (POST /apiv2/login, or a personal access token).
2. Metadata: `ALTER TABLE <table> REFRESH METADATA [AUTO PROMOTION]` (POST /api/v3/sql;
   `ALTER PDS`, which the old service sent, is the older spelling of the same command),
   polling GET /api/v3/job/<id> until COMPLETED, FAILED or CANCELED.
3. Reflections: the old service dropped the table's reflections and created one raw
   reflection over all columns, so queries read fresh data from an accelerated copy.
   Here the table's raw reflection is created when it has none
   (`<table>_raw`, every column displayed; POST /api/v3/reflection) and its
   reflections are refreshed in place (POST /api/v3/catalog/<id>/refresh), which
   keeps reflections a person tuned instead of dropping them. Views over the table
   use them too.
4. The old-shape view: its space and folders are created when missing (POST
   /api/v3/catalog), then `CREATE OR REPLACE VIEW`, only when its SQL changed.

Errors say which of the usual causes it is: credentials, a dataset Dremio does not
know, or a timeout.

`python -m yd_platform.resources.dremio` sets up a new Dremio (the production stack's
`dremio-init`): its first user, the S3 source over the object store's bucket (settings
from the `object_store` resource) and the spaces of the old-shape views.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

import requests

from yd_platform.resources.object_store import ObjectStoreResource

# The typed tables' first name part: the Dremio source over the object store's bucket,
# so `yd.warehouse.ods.pdd.pdd_badscore` is the bucket's folder `ods/pdd/pdd_badscore`.
TYPED_SOURCE = "yd"
TERMINAL_STATES = {"COMPLETED", "FAILED", "CANCELED", "CANCELLED"}
MISSING_MARKERS = ("not found", "does not exist", "object '", "table '", "unable to find")


class DremioError(RuntimeError):
    """Dremio could not be reached or answered unexpectedly."""


class DremioAuthError(DremioError):
    """The login or token was rejected."""


class DremioDatasetMissing(DremioError):
    """Dremio does not know the table (source, bucket or folder path wrong or not promoted)."""


class DremioTimeout(DremioError):
    """The refresh job did not finish in time."""


@dataclass(frozen=True)
class DremioJob:
    id: str
    state: str
    sql: str
    seconds: float


@dataclass(frozen=True)
class ReflectionRefresh:
    dataset_id: str
    reflections: tuple[str, ...]  # names of the table's reflections, refreshed
    created: str | None           # the raw reflection created because there was none


def dremio_path(table: str) -> str:
    """`minio.warehouse.ods.pdd.pdd_badscore` -> `"minio"."warehouse"."ods"."pdd"."pdd_badscore"`."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in table.split("."))


class DremioClient:
    def __init__(self, url: str, user: str = "", password: str = "", token: str = "",
                 timeout_seconds: float = 300.0, poll_seconds: float = 1.0, request_timeout: float = 30.0):
        if not url:
            raise DremioError("Dremio URL is not set (YD_DREMIO_URL, e.g. http://dremio:9047)")
        if not token and not (user and password):
            raise DremioAuthError("Dremio needs YD_DREMIO_USER and YD_DREMIO_PASSWORD (or YD_DREMIO_TOKEN)")
        self.url = url.rstrip("/")
        self.user = user
        self._password = password
        self._pat = token
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self.request_timeout = request_timeout
        self._auth_header: str | None = None

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            return requests.request(method, f"{self.url}{path}", timeout=self.request_timeout, **kwargs)
        except requests.RequestException as exc:
            raise DremioError(f"Dremio at {self.url} is not reachable ({method} {path}): "
                              f"{exc.__class__.__name__}") from None

    def server_status(self) -> None:
        """Dremio answers its status page (no login needed); raises DremioError otherwise."""
        resp = self._call("GET", "/apiv2/server_status")
        if resp.status_code != 200:
            raise DremioError(f"Dremio at {self.url} is not ready: HTTP {resp.status_code}")

    def login(self) -> str:
        if self._pat:
            self._auth_header = f"Bearer {self._pat}"
            return self._auth_header
        resp = self._call("POST", "/apiv2/login", json={"userName": self.user, "password": self._password})
        if resp.status_code in (401, 403):
            raise DremioAuthError(f"Dremio at {self.url} rejected the login of user {self.user!r} "
                                  f"(HTTP {resp.status_code}); check YD_DREMIO_USER/YD_DREMIO_PASSWORD")
        if resp.status_code != 200 or "token" not in _json(resp):
            raise DremioError(f"Dremio login at {self.url} failed: HTTP {resp.status_code} {resp.text[:200]}")
        self._auth_header = f"_dremio{_json(resp)['token']}"
        return self._auth_header

    def _authed(self, method: str, path: str, **kwargs) -> requests.Response:
        if self._auth_header is None:
            self.login()
        resp = self._call(method, path, headers={"Authorization": self._auth_header}, **kwargs)
        if resp.status_code in (401, 403):
            raise DremioAuthError(f"Dremio at {self.url} refused {method} {path} (HTTP {resp.status_code}): "
                                  "the token is invalid or the user lacks the privilege")
        return resp

    def submit(self, sql: str) -> str:
        resp = self._authed("POST", "/api/v3/sql", json={"sql": sql})
        if resp.status_code != 200 or "id" not in _json(resp):
            self._raise_sql_error(sql, f"HTTP {resp.status_code}: {_error_text(resp)}")
        return str(_json(resp)["id"])

    def wait(self, job_id: str, sql: str) -> DremioJob:
        started = time.monotonic()
        deadline = started + self.timeout_seconds
        while True:
            resp = self._authed("GET", f"/api/v3/job/{job_id}")
            if resp.status_code != 200:
                raise DremioError(f"Dremio job {job_id}: HTTP {resp.status_code} {_error_text(resp)}")
            body = _json(resp)
            state = str(body.get("jobState", "")).upper()
            if state == "COMPLETED":
                return DremioJob(job_id, state, sql, time.monotonic() - started)
            if state in TERMINAL_STATES:
                reason = body.get("errorMessage") or body.get("cancellationReason") or state
                self._raise_sql_error(sql, f"job {job_id} {state}: {reason}")
            if time.monotonic() >= deadline:
                raise DremioTimeout(f"Dremio job {job_id} ({sql}) still {state or 'pending'} after "
                                    f"{self.timeout_seconds:g}s")
            time.sleep(self.poll_seconds)

    def run(self, sql: str) -> DremioJob:
        return self.wait(self.submit(sql), sql)

    def refresh_metadata(self, table: str, promote: bool = True) -> DremioJob:
        sql = f"ALTER TABLE {dremio_path(table)} REFRESH METADATA"
        if promote:
            sql += " AUTO PROMOTION"
        return self.run(sql)

    def dataset(self, table: str) -> dict:
        """The catalog entry of `table` (id and fields), by its dotted path."""
        path = "/".join(quote(part, safe="") for part in table.split("."))
        resp = self._authed("GET", f"/api/v3/catalog/by-path/{path}")
        if resp.status_code == 404:
            raise DremioDatasetMissing(f"Dremio does not know the dataset {table}; check the table name in "
                                       "platforms.yaml and that the source exists")
        if resp.status_code != 200 or "id" not in _json(resp):
            raise DremioError(f"Dremio catalog lookup of {table}: HTTP {resp.status_code} {_error_text(resp)}")
        return _json(resp)

    def refresh_reflections(self, table: str) -> ReflectionRefresh:
        """Refresh the table's reflections; create its raw reflection first if it has none."""
        dataset = self.dataset(table)
        dataset_id = str(dataset["id"])
        resp = self._authed("GET", "/api/v3/reflection")
        if resp.status_code != 200:
            raise DremioError(f"Dremio reflection list: HTTP {resp.status_code} {_error_text(resp)}")
        names = [str(r.get("name")) for r in _json(resp).get("data", []) if str(r.get("datasetId")) == dataset_id]
        created = None
        if not names:
            created = f"{table.rsplit('.', 1)[-1]}_raw"
            fields = [{"name": f["name"]} for f in dataset.get("fields", []) if f.get("name")]
            resp = self._authed("POST", "/api/v3/reflection", json={
                "type": "RAW", "name": created, "datasetId": dataset_id, "enabled": True,
                "displayFields": fields})
            if resp.status_code not in (200, 201):
                raise DremioError(f"Dremio could not create the raw reflection {created} of {table}: "
                                  f"HTTP {resp.status_code} {_error_text(resp)}")
            names = [created]
        resp = self._authed("POST", f"/api/v3/catalog/{quote(dataset_id, safe='')}/refresh")
        if resp.status_code not in (200, 204):
            raise DremioError(f"Dremio reflection refresh of {table}: HTTP {resp.status_code} {_error_text(resp)}")
        return ReflectionRefresh(dataset_id, tuple(names), created)

    def entity(self, path: list[str]) -> dict | None:
        """The catalog entry at `path` (source, space, folder, table or view), None when there is none."""
        resp = self._authed("GET", "/api/v3/catalog/by-path/" + "/".join(quote(p, safe="") for p in path))
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise DremioError(f"Dremio catalog lookup of {'.'.join(path)}: HTTP {resp.status_code} "
                              f"{_error_text(resp)}")
        return _json(resp)

    def ensure_containers(self, path: list[str]) -> list[str]:
        """Create the space `path[0]` and the folders below it that are missing; says which."""
        created = []
        for depth in range(1, len(path) + 1):
            here = path[:depth]
            found = self.entity(here)
            kind = str((found or {}).get("entityType", "")).lower()
            if found is not None and kind not in ("space", "folder"):
                need = "space" if depth == 1 else "folder"
                fix = (f"; the S3 source must be called {TYPED_SOURCE!r}: delete the source {here[0]!r} in "
                       "Dremio (its files stay where they are), then run `python -m yd_platform.resources.dremio`, "
                       "which creates the source and the space" if kind == "source" else "")
                raise DremioError(f"Dremio has a {kind or 'dataset'} at {'.'.join(here)}, where the old-shape "
                                  f"views need a {need}{fix}")
            if found is None:
                body = ({"entityType": "space", "name": here[0]} if depth == 1
                        else {"entityType": "folder", "path": here})
                resp = self._authed("POST", "/api/v3/catalog", json=body)
                if resp.status_code not in (200, 201, 409):  # 409: created meanwhile
                    raise DremioError(f"Dremio could not create the {body['entityType']} {'.'.join(here)}: "
                                      f"HTTP {resp.status_code} {_error_text(resp)}")
                created.append(".".join(here))
        return created

    def ensure_view(self, view: str, select: str) -> bool:
        """The view `view` (dotted path in a space) as `select`; replaced only when its SQL
        differs. Returns whether it was (re)created."""
        parts = view.split(".")
        current = self.entity(parts)
        if current is not None and current.get("type") == "VIRTUAL_DATASET" and current.get("sql") == select:
            return False
        self.ensure_containers(parts[:-1])  # says so when a source holds the path
        if current is not None and current.get("type") != "VIRTUAL_DATASET":
            raise DremioError(f"Dremio has a {current.get('type') or current.get('entityType')} at {view}, "
                              "where the old-shape view belongs; remove it")
        self.run(f"CREATE OR REPLACE VIEW {dremio_path(view)} AS {select}")
        return True

    def refresh(self, table: str, promote: bool = True) -> tuple[DremioJob, ReflectionRefresh]:
        """What a written partition needs: metadata, then reflections."""
        job = self.refresh_metadata(table, promote=promote)
        return job, self.refresh_reflections(table)

    def _raise_sql_error(self, sql: str, detail: str) -> None:
        if any(marker in detail.lower() for marker in MISSING_MARKERS):
            raise DremioDatasetMissing(f"Dremio does not know the dataset in `{sql}`: {detail}. "
                                       "Check the table name in platforms.yaml and that the source exists")
        raise DremioError(f"Dremio `{sql}` failed: {detail}")


def _json(resp: requests.Response) -> dict:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_text(resp: requests.Response) -> str:
    body = _json(resp)
    return str(body.get("errorMessage") or body.get("message") or resp.text[:200])


def s3_source(store: ObjectStoreResource) -> dict:
    """The catalog entry of the S3 source `yd` over the object store's bucket (the
    `object_store` resource's endpoint, key pair and bucket, path-style), so typed tables
    read as yd.<bucket>.ods.…, with `dt` inferred from the `dt=` partition folders."""
    if store.backend != "minio":
        raise DremioError("Dremio reads the ODS tables over S3, but the object store is a local folder: "
                          "set YD_OBJECT_STORE=minio (implied by YD_DEPLOYMENT=production) and YD_MINIO_*")
    return {
        "entityType": "source", "name": TYPED_SOURCE, "type": "S3",
        "config": {
            "accessKey": store.access_key, "accessSecret": store.secret_key, "secure": store.secure,
            "compatibilityMode": True, "rootPath": "/", "whitelistedBuckets": [store.bucket],
            "isPartitionInferenceEnabled": True,
            "propertyList": [{"name": "fs.s3a.endpoint", "value": store.endpoint},
                             {"name": "fs.s3a.path.style.access", "value": "true"}],
        },
        "metadataPolicy": {"autoPromoteDatasets": True},
    }


def bootstrap(client: DremioClient, source: dict, wait_seconds: float = 600.0,
              view_spaces: tuple[str, ...] = ("minio",)) -> list[str]:
    """First start of the stack's Dremio: wait for it, create its first user (the
    configured one) when it has none, the S3 source and the space of the old-shape views
    when missing. Says what it did."""
    done: list[str] = []
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            client.server_status()
            break
        except DremioError:
            pass
        if time.monotonic() > deadline:
            raise DremioTimeout(f"Dremio at {client.url} did not come up within {wait_seconds:g}s")
        time.sleep(client.poll_seconds)
    try:
        client.login()
    except DremioAuthError as refused:
        resp = client._call("PUT", "/apiv2/bootstrap/firstuser", json={
            "userName": client.user, "firstName": "yd", "lastName": "platform", "email": f"{client.user}@localhost",
            "createdAt": int(time.time() * 1000), "password": client._password})
        if resp.status_code not in (200, 204):
            raise DremioAuthError(f"Dremio at {client.url} rejected user {client.user!r} and would not create it "
                                  f"as its first user (HTTP {resp.status_code}); check YD_DREMIO_USER/PASSWORD") from refused
        client.login()
        done.append(f"created the first user {client.user}")
    if client._authed("GET", f"/api/v3/catalog/by-path/{source['name']}").status_code == 404:
        resp = client._authed("POST", "/api/v3/catalog", json=source)
        if resp.status_code not in (200, 201):
            raise DremioError(f"Dremio could not create the source {source['name']}: "
                              f"HTTP {resp.status_code} {_error_text(resp)}")
        done.append(f"created the source {source['name']}")
    for space in view_spaces:
        done += [f"created the space {name}" for name in client.ensure_containers([space])]
    return done


def bootstrap_from_env() -> list[str]:
    """`python -m yd_platform.resources.dremio`: the docker stack's `dremio-init` service,
    with the deployment's `table_engine` and `object_store` settings."""
    from yd_platform.catalog import load_catalog
    from yd_platform.resources.object_store import object_store_from_env
    from yd_platform.resources.table_engine import table_engine_from_env

    engine = table_engine_from_env()
    if engine.engine != "dremio":
        raise DremioError("the table engine is not Dremio: set YD_TABLE_ENGINE=dremio (implied by "
                          "YD_DEPLOYMENT=production) and YD_DREMIO_*")
    source = s3_source(object_store_from_env())
    client = DremioClient(engine.dremio_url, engine.dremio_user, engine.dremio_password, poll_seconds=5.0)
    spaces = tuple(sorted({ds.table.split(".")[0] for ds in load_catalog().datasets()}))
    return bootstrap(client, source, view_spaces=spaces)


if __name__ == "__main__":
    for line in bootstrap_from_env() or ["Dremio already set up"]:
        print(line)
