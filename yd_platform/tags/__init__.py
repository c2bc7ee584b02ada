"""User tags: rules in the app database, one Spark pass over per-user ODS features, UPSERT
into user_tags (see tags.yaml for the feature source)."""
