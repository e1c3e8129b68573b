"""The RAPI fuzz suite (tests/cluster/test_rapi_fuzz.py), run long.

CI runs a few hundred examples per property; this runs many more and prints
how long it took and how often each answer was read or refused (Hypothesis'
statistics). A failure prints the smallest answer that breaks the property.

    python bench/fuzz_rapi.py [--examples N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "cluster" / "test_rapi_fuzz.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=20_000, help="examples per property (default 20000)")
    args = parser.parse_args()
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics", str(SUITE)],
        cwd=ROOT, env={**os.environ, "GNTBOT_FUZZ_EXAMPLES": str(args.examples)}, check=False)
    print(f"fuzz_rapi: {args.examples} examples per property (three times that of any JSON for any request), "
          f"{time.monotonic() - started:.0f} s, {'passed' if result.returncode == 0 else 'FAILED'}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
