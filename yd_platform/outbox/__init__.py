"""The platform's one outbox: every message to people goes through it.

A stage hands messages to the outbox (`enqueue`: a message with its identity, the
dedupe key, so the same message is never queued twice); a delivery (`Delivery`) sends
what is due to the channels, exactly once even when two deliveries overlap (`claims`),
within each robot's per-minute limit, pausing a channel its robot blocked, retrying
failures with exponential backoff. The channels are WeCom and DingTalk group robots and
SMTP e-mail; their settings are a Dagster resource (`ChannelsResource`).

Everything lives in the app database (SQLite or MariaDB), so it survives restarts and
every deployment reads the same state.
"""
