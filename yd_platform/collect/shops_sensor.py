"""Keep each platform's dynamic shop partitions in step with the shop source.

Shops added to the source (catalog or MySQL `<platform>_shops`) become partitions;
shops removed or deactivated are removed, so schedules stop requesting them.
"""


import dagster as dg

from yd_platform.catalog import Catalog, PlatformSpec
from yd_platform.datasets.partitions import shop_partitions
from yd_platform.resources.shops import ShopSourceResource


def shop_partition_requests(
    catalog: Catalog, platform: PlatformSpec, current: list[str], source: ShopSourceResource
) -> list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest]:
    name = shop_partitions(platform.code).name
    wanted = {s.id for s in source.active_shops(catalog, platform.code)}
    have = set(current)
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if wanted - have:
        requests.append(dg.AddDynamicPartitionsRequest(name, sorted(wanted - have)))
    if have - wanted:
        requests.append(dg.DeleteDynamicPartitionsRequest(name, sorted(have - wanted)))
    return requests


def build_shops_sensor(catalog: Catalog, platform: PlatformSpec) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{platform.code}__shops_sync",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Mirror {platform.name} shops from the shop source into partitions '{platform.shops_partition_name}'.",
    )
    def _sensor(context: dg.SensorEvaluationContext, shop_source: ShopSourceResource):
        current = context.instance.get_dynamic_partitions(shop_partitions(platform.code).name)
        requests = shop_partition_requests(catalog, platform, current, shop_source)
        if not requests:
            return dg.SkipReason(f"{len(current)} shops, already in step")
        return dg.SensorResult(dynamic_partitions_requests=requests)

    return _sensor


def build_shops_sensors(catalog: Catalog) -> list[dg.SensorDefinition]:
    return [build_shops_sensor(catalog, p) for p in catalog.platforms.values()]


def sync_shops(instance: dg.DagsterInstance, catalog: Catalog, source: ShopSourceResource) -> dict[str, list[str]]:
    """Apply the same requests directly (used at start-up and by tests); returns shops per platform."""
    out = {}
    for platform in catalog.platforms.values():
        name = shop_partitions(platform.code).name
        for req in shop_partition_requests(catalog, platform, instance.get_dynamic_partitions(name), source):
            if isinstance(req, dg.AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(name, list(req.partition_keys))
            else:
                for key in req.partition_keys:
                    instance.delete_dynamic_partition(name, key)
        out[platform.code] = sorted(instance.get_dynamic_partitions(name))
    return out
