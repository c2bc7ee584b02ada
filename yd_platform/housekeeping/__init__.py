"""The platform's own housekeeping: old runs and exited run containers leave, so a year of
operation neither fills the disk nor slows the UI (config/housekeeping.yaml)."""
