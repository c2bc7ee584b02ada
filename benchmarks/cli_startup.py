"""Start-up cost of the `yd-platform` command line, measured in one run.

Prints side by side, each the median of `--repeat` fresh processes:
- `yd-platform --help` as it is (only the command listing is imported), next to the
  earlier start-up that imported every command's module before parsing;
- one command, `yd-platform plan --date 2025-10-02 --json`, as it is and the earlier
  way (every command module imported, the catalog parsed twice in pure Python);
- the catalog parse as it is (once, libyaml's C loader) next to the earlier one (the
  file composed for the duplicate-key check, then loaded again, both pure Python), in
  one process, same file, checked to give the same data.

    .venv/bin/python benchmarks/cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EAGER_HELP = (
    "import importlib, sys; from yd_platform.cli import main as m;"
    "[importlib.import_module(mod) for mod, _ in m.COMMANDS.values()];"
    "sys.argv = ['yd-platform', '--help']; m.main()"
)
LAZY_HELP = "import sys; from yd_platform.cli import main as m; sys.argv = ['yd-platform', '--help']; m.main()"
PLAN = ("import sys; from yd_platform.cli import main as m;"
        "sys.exit(m.main(['plan', '--date', '2025-10-02', '--json']))")
# The same command the earlier way: every command module imported first, and the catalog
# composed once for the duplicate-key check and loaded again, both by the pure-Python loader.
EARLIER_PLAN = (
    "import importlib, sys, yaml; import yd_platform.catalog.yaml_files as y;"
    "import yd_platform.catalog.loader as loader; y.LOADER = yaml.SafeLoader; parse = loader.parse_yaml;"
    "loader.parse_yaml = lambda text, *a, **k: (yaml.compose(text, Loader=yaml.SafeLoader), parse(text, *a, **k))[1];"
    "from yd_platform.cli import main as m;"
    "[importlib.import_module(mod) for mod, _ in m.COMMANDS.values()];"
    "sys.exit(m.main(['plan', '--date', '2025-10-02', '--json']))"
)


def wall(code: str, repeat: int) -> float:
    """Median wall time of `python -c code` in fresh processes (output discarded)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode not in (0,):
            raise SystemExit(f"benchmark command failed ({done.returncode}): {done.stderr[-500:]}")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def catalog_parse(repeat: int) -> tuple[float, float]:
    """(earlier two pure-Python passes, one C-loader pass) in seconds, same result."""
    import yaml

    from yd_platform.catalog.loader import default_catalog_path
    from yd_platform.catalog.yaml_files import parse_yaml

    text = default_catalog_path().read_text(encoding="utf-8")

    def before():
        yaml.compose(text, Loader=yaml.SafeLoader)
        return yaml.safe_load(text)

    def after():
        return parse_yaml(text, "platforms.yaml")

    if before() != after():
        raise SystemExit("the two parses give different data: not comparable")
    out = []
    for parse in (before, after):
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            parse()
            times.append(time.perf_counter() - started)
        out.append(statistics.median(times))
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = [
        ("yd-platform --help", wall(EAGER_HELP, args.repeat), wall(LAZY_HELP, args.repeat)),
        ("yd-platform plan --json (whole command)", wall(EARLIER_PLAN, args.repeat), wall(PLAN, args.repeat)),
        ("catalog parse (platforms.yaml)", *catalog_parse(args.repeat * 4)),
    ]
    print(f"{'':42} {'before':>10} {'now':>10} {'speed-up':>9}")
    for name, before, now in rows:
        print(f"{name:42} {before:9.3f}s {now:9.3f}s {before / now:8.1f}x")
    print(f"(median of {args.repeat} processes; catalog parse median of {args.repeat * 4} in one process)")


if __name__ == "__main__":
    main()
