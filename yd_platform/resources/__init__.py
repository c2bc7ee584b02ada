"""Resources: one per outside system, each with an embedded and a production backend."""
