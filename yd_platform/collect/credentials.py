"""Where a merchant account's login comes from: `YD_CRED_<PLATFORM>_<ACCOUNT>_USER` /
`_PASSWORD`, read from the environment when the account logs in.

`<ACCOUNT>` is the account upper-cased with every other character than A-Z/0-9 as `_`
(`pdd_acc_01` -> `YD_CRED_PDD_PDD_ACC_01_USER`). Logins are never part of a resource's
config, the run config or the logs; on the demo portal an account without them uses the
demo password.
"""

from __future__ import annotations

import re

from yd_platform.collect.errors import PermanentError
from yd_platform.deployment import env


def credential_var(platform: str, account: str, part: str) -> str:
    return f"YD_CRED_{platform.upper()}_{re.sub(r'[^A-Z0-9]', '_', account.upper())}_{part}"


def credentials(platform: str, account: str, demo_login: bool) -> tuple[str, str]:
    """User and password of one account; on the demo portal, the account and demo password."""
    user_var, pw_var = credential_var(platform, account, "USER"), credential_var(platform, account, "PASSWORD")
    user, password = env(user_var), env(pw_var)
    if password:
        return user or account, password
    if demo_login:
        from yd_platform.demo.portal_state import DEMO_PASSWORD

        return account, DEMO_PASSWORD
    raise PermanentError(f"no credentials for {platform} account {account}: set {user_var} and {pw_var}")
