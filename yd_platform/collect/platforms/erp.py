"""ERP: a simple synchronous export; the response is the file.

`report:` parameters: `report_type`.
"""

from __future__ import annotations

from yd_platform.collect.errors import PermanentError
from yd_platform.collect.framework import Collector, CollectJob


class ErpCollector(Collector):
    platform = "erp"

    def download_report(self, api, job: CollectJob) -> bytes:
        if "report_type" not in job.ds.report:
            raise PermanentError(f"{job.ds.slug}: report needs 'report_type' for the erp collector")
        return self.fetch_file(api, self.url("api/export") + "?" + _query({
            "report": job.ds.report["report_type"], "shop": job.shop,
            "from": job.period.start.isoformat(), "to": job.period.end.isoformat(),
        }))


def _query(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)
