"""Speed of the demo-data generator, and the event-type mix it produces.

Run: .venv/bin/python benchmarks/generator.py [--leads 6500 13000] [--seed 0]

Prints one row per size: events, seconds to simulate, seconds to write
Parquet, events per second; then the event mix by taxonomy class and type.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import pandas as pd

from intent_model.events.log import event_mix, load_events
from intent_model.simulate.funnel import simulate_funnel, write_demo_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[6500, 65000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    demo = None
    for n_leads in args.leads:
        started = time.perf_counter()
        demo = simulate_funnel(n_leads=n_leads, seed=args.seed)
        simulated = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            paths = write_demo_data(demo, tmp)
            written = time.perf_counter() - started
            if n_leads == args.leads[0]:
                mix = event_mix(load_events(paths["events"]).events)
        rows.append(
            {
                "leads": n_leads,
                "events": len(demo.events),
                "simulate_s": round(simulated, 2),
                "write_s": round(written, 2),
                "events_per_s": int(len(demo.events) / simulated),
            }
        )
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"\nEvent mix ({args.leads[0]} leads):")
    print(mix.to_string())


if __name__ == "__main__":
    main()
