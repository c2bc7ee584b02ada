"""One shop's report file read as a table in its dataset's schema.

Shared by the download check (`collect.verify`) and the merge, so a file that passes
the download is one the merge can read: header search, column aliases, footer rows,
typed coercion, unknown columns kept as JSON, and errors naming file, sheet, row and
column.
"""
