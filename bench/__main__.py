"""``make bench``: measure crypto and the simulator, write ``bench/results.json``, print it."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

from bench.crypto_bench import measure_crypto
from bench.sim_bench import measure_simulator

RESULTS = Path(__file__).with_name("results.json")


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    results: dict[str, object] = {"python": platform.python_version()}
    results.update(measure_crypto(repeats=3 if quick else 5))
    results.update(measure_simulator(requests=1000 if quick else 5000, repeats=1 if quick else 3))
    text = json.dumps(results, indent=2, sort_keys=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
