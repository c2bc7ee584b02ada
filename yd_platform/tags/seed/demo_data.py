"""Demo rows for the old feature tables, written into the warehouse database.

`yd-platform tags demo-data --users N --seed S [--today D]` fills `user_basic_info`,
`user_asset_summary` and `user_activity_summary` (columns as the catalog's `dw`
datasets declare them) with the same rows for the same arguments. The distributions
follow the old system's test data (about 30% high-net-worth users, ages 18-65, six
user levels, three KYC states); the first users sit exactly on the seed rules'
thresholds, and a few have missing values or no asset row, so the tags are tested at
their edges. The `warehouse` collector then publishes them as ODS tables.

Tables are only replaced when demo-data wrote them (recorded in `demo_data_info`); a
real warehouse table of the same name is never overwritten.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from yd_platform.catalog import Catalog, DatasetSpec

LEVELS = ["BRONZE", "SILVER", "GOLD", "VIP1", "VIP2", "VIP3"]
KYC = ["verified", "pending", "rejected"]
SA_TYPES = {"string": sa.String(100), "int": sa.Integer(), "float": sa.Float(), "date": sa.Date(),
            "datetime": sa.DateTime(), "bool": sa.Boolean()}
DEMO_USERS = 1000
DEMO_SEED = 42


class DemoDataError(RuntimeError):
    """The demo tables cannot be written where asked; the message says why."""


def feature_tables(catalog: Catalog) -> dict[str, DatasetSpec]:
    """Warehouse table name -> its catalog dataset, for every `warehouse` dataset."""
    return {ds.report["table"]: ds for ds in catalog.datasets() if ds.collector == "warehouse"}


# Users 1..len(EDGES) sit on the thresholds of the seed rules (days are before `today`).
EDGES = [
    dict(total_asset_value=100000.0, cash_balance=50000.0, age=18, risk_score=30, trade_count_30d=10,
         registration_days=30, login_days=7, user_level="VIP2", kyc_status="verified"),
    dict(total_asset_value=99999.99, cash_balance=49999.99, age=30, risk_score=31, trade_count_30d=11,
         registration_days=31, login_days=8, user_level="VIP3", kyc_status="pending"),
    dict(age=31, registration_days=0, login_days=0, user_level="VIP1", kyc_status="verified"),
    dict(age=17, user_level="VIP3", kyc_status="verified"),
    dict(age=None, risk_score=None, user_level=None, kyc_status=None, registration_days=None,
         login_days=None, trade_count_30d=None, total_asset_value=None, cash_balance=None),
]


def _user(rng: random.Random, index: int, today: date) -> dict:
    high = rng.random() < 0.3
    total = rng.randint(100000, 2000000) if high else rng.randint(1000, 99999)
    values = dict(
        user_id=f"user_{index + 1:06d}",
        age=rng.randint(18, 65),
        user_level=rng.choice(LEVELS),
        kyc_status=rng.choice(KYC),
        registration_days=rng.randint(1, 365),
        risk_score=rng.randint(10, 90),
        total_asset_value=float(total),
        cash_balance=float(rng.randint(10000, 200000) if high else rng.randint(100, 50000)),
        stock_value=float(rng.randint(0, total // 2)),
        bond_value=float(rng.randint(0, total // 4)),
        fund_value=float(rng.randint(0, total // 3)),
        trade_count_30d=rng.randint(0, 100),
        trade_amount_30d=float(rng.randint(0, 1000000)),
        login_count_30d=rng.randint(0, 30),
        login_days=rng.randint(0, 30),
    )
    values.update(EDGES[index] if index < len(EDGES) else {})

    def day(days):
        return None if days is None else today - timedelta(days=days)

    values.update(registration_date=day(values.pop("registration_days")),
                  last_login_date=day(values.pop("login_days")), computed_date=today)
    return values


def demo_rows(tables: dict[str, DatasetSpec], users: int, seed: int, today: date) -> dict[str, list[dict]]:
    """Rows per table; every 20th user has no `user_asset_summary` row."""
    rng = random.Random(seed)
    people = [_user(rng, i, today) for i in range(users)]
    out = {}
    for name, ds in tables.items():
        columns = [c.name for c in ds.columns]
        keep = people if name != "user_asset_summary" else [p for i, p in enumerate(people) if i % 20 != 19]
        out[name] = [{c: p.get(c) for c in columns} for p in keep]
    return out


info = sa.Table(
    "demo_data_info", sa.MetaData(),
    sa.Column("table_name", sa.String(100), primary_key=True),
    sa.Column("users", sa.Integer, nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("today", sa.Date, nullable=False),
    sa.Column("written_at", sa.DateTime, nullable=False),
)


@dataclass(frozen=True)
class DemoWritten:
    url: str
    rows: dict[str, int]


def _table(name: str, ds: DatasetSpec, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(name, metadata, *[sa.Column(c.name, SA_TYPES[c.type], primary_key=c.key)
                                      for c in ds.columns])


def written_by_demo(engine: sa.Engine) -> dict[str, dict]:
    """Tables demo-data wrote, with the arguments it used."""
    if not sa.inspect(engine).has_table(info.name):
        return {}
    with engine.connect() as conn:
        return {r.table_name: dict(r._mapping) for r in conn.execute(sa.select(info))}


def write_demo_data(url: str, catalog: Catalog, users: int = DEMO_USERS, seed: int = DEMO_SEED,
                    today: date | None = None, progress=None) -> DemoWritten:
    """Replace the demo feature tables at `url` with the rows for (users, seed, today).

    `progress(phase, rows written, rows of the table)` is called as each batch is written."""
    if users < 1:
        raise DemoDataError(f"--users must be at least 1 (got {users})")
    today = today or date.today()
    tables = feature_tables(catalog)
    engine = sa.create_engine(url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        ours = written_by_demo(engine)
        existing = set(sa.inspect(engine).get_table_names())
        foreign = sorted(n for n in tables if n in existing and n not in ours)
        if foreign:
            raise DemoDataError(f"{shown}: tables {foreign} exist and were not written by demo-data; "
                                "refusing to replace them (point YD_WAREHOUSE_URL at a scratch database)")
        metadata = sa.MetaData()
        defined = {n: _table(n, ds, metadata) for n, ds in tables.items()}
        rows = demo_rows(tables, users, seed, today)
        now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
        with engine.begin() as conn:
            info.create(conn, checkfirst=True)
            metadata.drop_all(conn, checkfirst=True)
            metadata.create_all(conn)
            for name, table in defined.items():
                for i in range(0, len(rows[name]), 1000):
                    conn.execute(table.insert(), rows[name][i:i + 1000])
                    if progress is not None:
                        progress(f"writing {name}", min(i + 1000, len(rows[name])), len(rows[name]))
                conn.execute(info.delete().where(info.c.table_name == name))
                conn.execute(info.insert().values(table_name=name, users=users, seed=seed, today=today,
                                                  written_at=now))
    except sa.exc.SQLAlchemyError as exc:
        raise DemoDataError(f"{shown}: writing the demo tables failed: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()
    return DemoWritten(shown, {n: len(r) for n, r in rows.items()})
