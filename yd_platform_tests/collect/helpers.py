"""Reading report files in collector tests."""

from __future__ import annotations

import io

from python_calamine import CalamineWorkbook


def read_rows(data: bytes) -> list[list]:
    """The first sheet's rows, as the merge reads them."""
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
