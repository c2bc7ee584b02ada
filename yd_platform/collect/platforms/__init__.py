"""One small collector per back-end; the shared flow is in `collect.framework`."""
