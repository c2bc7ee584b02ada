"""Reading what an in-process run recorded, as the asset's page shows it."""

from __future__ import annotations

import dagster as dg


def materialization(result: dg.ExecuteInProcessResult, asset: str | dg.AssetKey) -> dict[str, object]:
    """The metadata values of the last materialization of `asset` in the run: an asset key,
    or the last part of one (`reward_notices` of `incentives/reward_notices`, `merged` of
    `pdd/badscore/badscore_merged`). Fails the test when the run did not materialize it."""
    def wanted(key: dg.AssetKey) -> bool:
        if isinstance(asset, dg.AssetKey):
            return key == asset
        return key.path[-1] == asset or key.path[-1].endswith(f"_{asset}")

    events = [e for e in result.get_asset_materialization_events() if wanted(e.asset_key)]
    assert events, f"{asset} was not materialized"
    return {k: v.value for k, v in events[-1].materialization.metadata.items()}
