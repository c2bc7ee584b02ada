"""The error a bad shop file raises: it names file, sheet, row and column so the person
who opens the alert can find the cell without reading code."""

from __future__ import annotations


class BadShopFile(ValueError):
    """One shop's raw file cannot be merged (corrupt, empty, wrong headers or values)."""

    def __init__(self, file: str, problem: str, *, sheet: str | None = None,
                 row: int | None = None, column: str | None = None):
        self.file = file
        self.problem = problem
        self.sheet = sheet
        self.row = row
        self.column = column
        super().__init__(self.describe())

    def describe(self) -> str:
        where = [self.file]
        if self.sheet is not None:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.problem}"
