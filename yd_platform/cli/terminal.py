"""What the commands print for people: columns that line up, and progress of long work.

Columns: a Chinese character takes two columns of a terminal, so padding by the number
of characters shifts every column after a Chinese shop, dataset or tag name. Cells are
padded to their display width (`rich.cells.cell_len`, East Asian Width), and every
command that prints columns goes through `columns` / `table` / `grid` here.

Progress: `Progress` reports long work (a day's chains, demo tables, an adoption) as it
happens, phase by phase with a count done out of a total. Where a person watches a
terminal it draws bars (`rich.progress`); anywhere else (a pipe, a CI log, a service
log) it writes one plain line per step instead, which reads well in a file. It writes to
stderr, so stdout stays the command's result (`--json` output stays parseable).
Library functions take it as a plain callback, `progress(phase, done, total, detail)`,
and know nothing of terminals.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from rich.cells import cell_len

LEFT, RIGHT = "<", ">"


def width(text: str) -> int:
    """Columns `text` takes in a terminal (two per wide or full-width character)."""
    return cell_len(text)


def pad(text: str, size: int, align: str = LEFT) -> str:
    """`text` filled with spaces to `size` display columns, on the right (LEFT) or left (RIGHT)."""
    fill = " " * max(size - width(text), 0)
    return fill + text if align == RIGHT else text + fill


def _cells(rows: Sequence[Sequence[object]]) -> list[list[str]]:
    return [["" if cell is None else str(cell) for cell in row] for row in rows]


def column_widths(rows: Sequence[Sequence[object]]) -> list[int]:
    """The display width of each column: its widest cell."""
    cells = _cells(rows)
    count = max((len(row) for row in cells), default=0)
    return [max((width(row[i]) for row in cells if i < len(row)), default=0) for i in range(count)]


def columns(rows: Sequence[Sequence[object]], align: str = "", sep: str = "  ",
            widths: Sequence[int] | None = None) -> list[str]:
    """Each row as one line, its cells padded to the column's display width.

    `align` has one character per column, `<` (default) or `>`; a left-aligned last
    column is not padded, and no line ends in spaces. `widths` (from `column_widths` over more rows)
    lines these rows up with others printed elsewhere.
    """
    cells = _cells(rows)
    widths = list(widths) if widths is not None else column_widths(cells)
    lines = []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            side = align[i] if i < len(align) else LEFT
            last = i == len(row) - 1
            parts.append(cell if last and side == LEFT else pad(cell, widths[i], side))
        lines.append(sep.join(parts).rstrip())
    return lines


def table(headers: Sequence[object], rows: Sequence[Sequence[object]], align: str = "", sep: str = "  ") -> str:
    """A header line and the rows, in columns that line up."""
    return "\n".join(columns([headers, *rows], align, sep))


def grid(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A boxed grid (`+---+` rules, `|` between cells), for query results."""
    cells = _cells([headers, *rows])
    widths = column_widths(cells)
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(row: list[str]) -> str:
        return "| " + " | ".join(pad(c, w) for c, w in zip(row, widths)) + " |"

    return "\n".join([rule, line(cells[0]), rule, *(line(r) for r in cells[1:]), rule])


class Progress:
    """Long work reported as it happens: phases, each a count done out of a total.

    A bar per phase where stderr is a terminal, else plain lines (a line when a step is
    named, at every tenth of the total and at the end). Use it as a context manager, and
    call it as the callback library functions take: `progress(phase, done, total, detail)`.
    """

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._bars = None
        self._task = None
        self._phase: str | None = None
        self._total: int | None = None
        self._shown = -1

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as Bars

            console = Console(file=self.stream, force_terminal=True)
            self._bars = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), TextColumn("{task.fields[detail]}"), console=console,
                              redirect_stdout=sys.stdout.isatty(), redirect_stderr=True)
            self._bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def phase(self, name: str, total: int | None = None) -> None:
        """Start the next phase; `total` steps, or None when unknown."""
        self._phase, self._total, self._shown = name, total, 0
        if self._bars is not None:
            self._task = self._bars.add_task(name, total=total, detail="")
        else:
            self._line(f"{name} ...")

    def update(self, done: int, detail: str = "") -> None:
        """`done` steps of the current phase are finished; `detail` names the last one."""
        if self._bars is not None:
            self._bars.update(self._task, completed=done, detail=detail)
            return
        total = self._total
        tenth = done * 10 // total if total else done
        if detail or (total is None and done) or (total is not None and done >= total) or tenth > self._shown:
            self._shown = tenth
            count = f"{done}/{total}" if total is not None else str(done)
            self._line(f"{self._phase}: {count}" + (f"  {detail}" if detail else ""))

    def __call__(self, phase: str, done: int, total: int | None, detail: str = "") -> None:
        """The callback form: a new phase name starts that phase."""
        if phase != self._phase or total != self._total:
            self.phase(phase, total)
        self.update(done, detail)

    def note(self, text: str) -> None:
        """A line of its own (above the bars on a terminal)."""
        if self._bars is not None:
            self._bars.console.print(text, markup=False, highlight=False)
        else:
            self._line(text)

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
