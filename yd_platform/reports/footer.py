"""Footer and total rows ("合计", "总计" ...) that exports append below the data.

Such a row is recognised by its first non-empty cell: the label a back-end puts in
front of the sums. The labels are set per dataset (`footer_markers` in the catalog);
whitespace, colons and letter case do not matter.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from yd_platform.reports.reader import ShopSheet

IGNORED = r"[\s:：]"


def _label(text: str) -> str:
    return re.sub(IGNORED, "", text).lower()


def footer_rows(sheet: ShopSheet, markers: list[str]) -> np.ndarray:
    """Mask of the rows whose first non-empty cell is one of `markers`."""
    n = len(sheet.rows)
    footer = np.zeros(n, dtype=bool)
    if not markers or not n:
        return footer
    wanted = pa.array(sorted({_label(m) for m in markers}))
    decided = np.zeros(n, dtype=bool)
    for index in sorted(sheet.columns):
        array = sheet.columns[index]
        filled = pc.is_valid(array)
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            label = pc.utf8_lower(pc.replace_substring_regex(array, IGNORED, ""))
            filled = pc.and_(filled, pc.not_equal(label, ""))
            hit = pc.fill_null(pc.is_in(label, value_set=wanted), False).to_numpy(zero_copy_only=False)
            footer |= hit & ~decided
        decided |= pc.fill_null(filled, False).to_numpy(zero_copy_only=False)
        if decided.all():
            break
    return footer
