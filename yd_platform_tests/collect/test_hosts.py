"""Where collectors send their calls: the real hosts (`live`) or a portal imitating them."""

from __future__ import annotations

import pytest

from yd_platform.collect.platforms import collector_class
from yd_platform.resources.merchant_backends import CollectorResource


@pytest.mark.parametrize("platform, path, host, real", [
    ("pdd", "saturn/reviews/list", None, "https://mms.pinduoduo.com/saturn/reviews/list"),
    ("tm", "csp/api/file/url", None, "https://sycm.taobao.com/csp/api/file/url"),
    ("tm", "h5/mtop.rm.sellercenter.list.data.pc/1.0/", "h5api.m.taobao.com",
     "https://h5api.m.taobao.com/h5/mtop.rm.sellercenter.list.data.pc/1.0/"),
    ("jd", "brand/reportCenter/myReport.html", None, "https://ppzh.jd.com/brand/reportCenter/myReport.html"),
    ("erp", "erp/webapi/ItemApi/Export/GetExportData", "api.erp321.com",
     "https://api.erp321.com/erp/webapi/ItemApi/Export/GetExportData"),
])
def test_live_means_the_real_hosts_and_a_portal_mirrors_them(platform, path, host, real):
    live = collector_class(platform)(CollectorResource(portal_url="live"))
    assert live.url(path, host) == real
    one = collector_class(platform)(CollectorResource(platform_urls={platform: "live"}))
    assert one.url(path, host) == real
    portal = collector_class(platform)(CollectorResource(portal_url="http://127.0.0.1:8800"))
    assert portal.url(path, host) == f"http://127.0.0.1:8800/{platform}/{real.removeprefix('https://')}"
    assert portal.url("https://files.example.com/r.xlsx") == "https://files.example.com/r.xlsx"


def test_login_pages_are_the_back_ends_own():
    urls = {p: collector_class(p)(CollectorResource(portal_url="live")).login_url() for p in ("pdd", "tm", "jd", "erp")}
    assert urls == {"pdd": "https://mms.pinduoduo.com/login/", "tm": "https://login.taobao.com/member/login.jhtml",
                    "jd": "https://passport.jd.com/new/login.aspx", "erp": "https://www.erp321.com/login.aspx"}
    assert all(collector_class(p).is_login_url(u) for p, u in urls.items())
    assert not collector_class("tm").is_login_url("https://sycm.taobao.com/qos/service/self_made_report")
