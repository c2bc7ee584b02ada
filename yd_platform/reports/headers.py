"""Where a report's header row is and what its columns mean.

One routine for the download check (`collect/verify.py`) and the merge, so a file the
merge can read is never refused at download: the header is the first of the top rows
that holds a header the catalog knows (a title line above it is normal in merchant
exports), its text is cleaned of the BOMs, ideographic spaces and line breaks exports
carry, and each cell maps onto a catalog column through the aliases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from yd_platform.catalog import DatasetSpec

HEADER_SCAN_ROWS = 20

Row = tuple[int, dict[int, object]]  # (1-based Excel row number, {0-based column: value})


def cell_text(value) -> str:
    """A header cell as text, without the stray spaces/newlines exports carry."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\ufeff", "").replace("\u3000", " ").replace("\n", "").strip()


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the column as Excel shows it."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def column_ref(index: int, header: str) -> str:
    return f"{column_letters(index)} ({header!r})"


def alias_map(ds: DatasetSpec) -> dict[str, str]:
    """Header text -> canonical column name (the canonical name itself is accepted too)."""
    out: dict[str, str] = {}
    for col in ds.columns:
        for alias in (col.name, *col.aliases):
            out[cell_text(alias)] = col.name
    return out


@dataclass(frozen=True)
class HeaderRow:
    """The header found in a sheet: its Excel row and cleaned text per column index."""

    row: int
    cells: dict[int, str]

    @property
    def texts(self) -> list[str]:
        return [t for _, t in sorted(self.cells.items()) if t]


def find_header(top_rows: list[Row], known: set[str]) -> HeaderRow | None:
    """The first non-blank row (of the first `HEADER_SCAN_ROWS`) holding a known header,
    else the first non-blank row (so an error can show what the file has); None when the
    sheet has no cell at all."""
    scanned: list[HeaderRow] = []
    for number, cells in top_rows:
        texts = {i: cell_text(v) for i, v in cells.items()}
        if not any(texts.values()):
            continue
        row = HeaderRow(number, texts)
        if any(t in known for t in texts.values()):
            return row
        scanned.append(row)
        if len(scanned) >= HEADER_SCAN_ROWS:
            break
    return scanned[0] if scanned else None


@dataclass
class HeaderMatch:
    """Catalog column -> column index, the header cells no alias knows, and what is missing.

    `duplicate` names the first header that maps onto a column already taken:
    (index, text, first index, first text, column name).
    """

    positions: dict[str, int] = field(default_factory=dict)
    unknown: dict[int, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    duplicate: tuple[int, str, int, str, str] | None = None


def match_header(ds: DatasetSpec, header: HeaderRow) -> HeaderMatch:
    aliases = alias_map(ds)
    match = HeaderMatch()
    for index, text in sorted(header.cells.items()):
        name = aliases.get(text)
        if name is None:
            match.unknown[index] = text
        elif name in match.positions:
            if match.duplicate is None:
                first = match.positions[name]
                match.duplicate = (index, text, first, header.cells[first], name)
        else:
            match.positions[name] = index
    match.missing = [c.name for c in ds.columns if (c.required or c.key) and c.name not in match.positions]
    return match
