"""The tags that ship with the platform, and demo data to compute them on.

`shipped` is the `seed:` section of tags.yaml and inserts it once per id; `sensor` does
so when the daemon starts; `demo_data` fills the warehouse's feature tables with demo
users. Both need only the rules and the tag tables; `tags.first_start` runs them on a
fresh embedded machine (`yd-platform up`).
"""
