"""``make bench``: measure crypto, the simulator, the HTTP API and the live council, write
``bench/results.json``, print it. ``--quick`` runs shorter versions of each."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

from bench.agent_path import measure_agent_path, measure_marginal
from bench.api_bench import measure_api
from bench.crypto_bench import measure_crypto
from bench.live import measure_live
from bench.sim_bench import measure_simulator

RESULTS = Path(__file__).with_name("results.json")


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    results: dict[str, object] = {"python": platform.python_version()}
    crypto = measure_crypto(repeats=3 if quick else 5)
    results.update(crypto)
    results.update(measure_simulator(requests=1000 if quick else 5000, repeats=1 if quick else 3))
    # The live bound uses the Ed25519 costs measured just now, on the same machine.
    verify_us = 1e6 / crypto["verify_per_s"]["pynacl"]  # type: ignore[index]
    sign_us = 1e6 / crypto["sign_per_s"]["pynacl"]  # type: ignore[index]
    # The agents' own work per instance, without MQTT: the other side of the live figures.
    agent_path = measure_agent_path(batch=120, instances=3 if quick else 8)
    # What larger batches cannot spread thinner: the agents' CPU for one more request.
    marginal = measure_marginal(instances=2 if quick else 6)
    results["agent_path"] = {
        **agent_path.as_json(verify_us),
        "marginal": marginal.as_json(verify_us),
    }
    results.update(measure_api(quick))
    results.update(measure_live(quick, verify_us, sign_us))
    text = json.dumps(results, indent=2, sort_keys=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
