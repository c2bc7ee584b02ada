"""Keep webhook secrets out of the logs of the HTTP library.

The robots take their secret in the URL (`?key=` for WeCom, `?access_token=…&sign=` for
DingTalk). Our own messages redact URLs, but urllib3 logs every request line at DEBUG,
and Dagster or an operator may turn DEBUG on. A filter on urllib3's logger masks those
query values before any handler sees the record.
"""

from __future__ import annotations

import logging
import re

SECRET_QUERY = re.compile(r"((?:key|access_token|sign|token|secret)=)[^&\s\"']+", re.IGNORECASE)
HTTP_LOGGERS = ("urllib3.connectionpool",)


def mask_secrets(text: str) -> str:
    return SECRET_QUERY.sub(r"\1***", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install() -> None:
    """Add the filter once to each HTTP logger (safe to call repeatedly)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretsFilter) for f in logger.filters):
            logger.addFilter(RedactSecretsFilter())
