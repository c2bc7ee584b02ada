"""Monitoring of the platform from outside its stages: Prometheus metrics of what the
Dagster instance records (`instance_metrics`), for `yd-platform metrics` and scrapers."""
