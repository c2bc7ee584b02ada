"""Chat ODS partitions as the tables stage publishes them, for the tag tests."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from yd_platform.datasets.layout import ods_data_key
from yd_platform.datasets.schema import merged_schema

# (platform, day, session, buyer, agent, messages, started_at)
CHATS = [
    ("pdd", "2025-10-01", "s1", "b1", "agent_a", 10, datetime(2025, 10, 1, 9, 0)),
    ("pdd", "2025-10-01", "s2", "b1", "agent_b", 5, datetime(2025, 10, 1, 15, 0)),
    ("pdd", "2025-10-01", "s3", "b2", "agent_a", 1, datetime(2025, 10, 1, 10, 0)),
    ("tm", "2025-10-02", "s4", "b1", "agent_t", 3, datetime(2025, 10, 2, 11, 0)),
    ("tm", "2025-10-02", "s5", "b3", "agent_x", 20, datetime(2025, 10, 2, 20, 0)),
    ("tm", "2025-10-02", "s6", "", "agent_x", 99, datetime(2025, 10, 2, 21, 0)),  # no buyer: ignored
]


def write_chat_ods(store, catalog) -> None:
    for platform in ("pdd", "tm"):
        ds = catalog.dataset(platform, "chat")
        days = sorted({c[1] for c in CHATS if c[0] == platform})
        for day in days:
            rows = [c for c in CHATS if c[0] == platform and c[1] == day]
            shop = catalog.platforms[platform].shops[0].id
            data = {
                "platform": [platform] * len(rows), "shop_id": [shop] * len(rows),
                "session_id": [r[2] for r in rows], "buyer_id": [r[3] for r in rows],
                "agent": [r[4] for r in rows], "messages": [r[5] for r in rows],
                "started_at": [r[6] for r in rows], "extra_columns": [None] * len(rows), "period": [day] * len(rows),
                "period_start": [date.fromisoformat(day)] * len(rows),
                "period_end": [date.fromisoformat(day)] * len(rows),
            }
            schema = merged_schema(ds)
            for name in schema.names:  # columns the tags do not read stay empty
                data.setdefault(name, [None] * len(rows))
            table = pa.Table.from_pydict(data, schema=schema)
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink)
            store.put_bytes(ods_data_key(ds, day), sink.getvalue().to_pybytes())
