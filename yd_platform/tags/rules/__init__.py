"""Tag rules, from the JSON an operator writes to the Spark expression that tests it.

`validate` defines the rule format and refuses, naming tag and JSON path, what cannot
run (pure Python, so rules are checked without Spark); `compile` turns a valid rule into
a Spark column; `evaluate` runs every selected rule in one pass over the feature source.
Nothing here knows where features or results are stored: the same code serves the
`user_tags` asset and `yd-platform tags try`.
"""
