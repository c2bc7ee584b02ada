"""`yd-platform tags list` on a fresh install says how to get tags instead of only that
there are none."""

from __future__ import annotations

from yd_platform.cli.main import main


def test_a_fresh_install_points_at_tags_seed(yd_home, capsys):
    assert main(["tags", "list"]) == 0
    shown = capsys.readouterr()
    assert shown.out == ""
    assert shown.err.startswith("no active tags yet: `yd-platform tags seed` loads the shipped ones")

    assert main(["tags", "seed"]) == 0
    capsys.readouterr()
    assert main(["tags", "list"]) == 0
    shown = capsys.readouterr()
    assert shown.err == ""
    assert [line for line in shown.out.splitlines() if line.rstrip().endswith(" ok")]  # the seeded tags
