"""Time to load a model: the skops bundle (no pickle) against the previous joblib pickle.

Trains an event model and a CRM-table model on demo data (without MLflow),
writes each model also in the previous format (``model.joblib``, a pickle),
then times, in the same process and interleaved:

* ``load_model(bundle)``: metadata, checksum, the type check of every object
  in the file, skops, and the checks of the trees;
* the previous loader: metadata, checksum, ``joblib.load``.

Prints the best of ``--repeat`` runs of each, and the ratio (the issue asked
for at most 2x)::

    python benchmarks/load_model.py --leads 5000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import joblib

from intent_model.modeling.bundle import sha256_of
from intent_model.scoring.loaded import load_model
from intent_model.simulate.crm import crm_export
from intent_model.simulate.funnel import simulate_funnel
from intent_model.training.train import train


def previous_load(directory: Path):
    """What load_model did before: metadata, checksum, then unpickle."""
    metadata = json.loads((directory / "metadata.json").read_text())
    path = directory / "model.joblib"
    if sha256_of(path) != metadata["model_sha256"]:
        raise RuntimeError("checksum")
    return joblib.load(path), metadata


def best_of(function, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        demo = simulate_funnel(n_leads=args.leads, seed=42)
        bundles = {
            "events": train(demo.events, demo.leads, out=root / "events", track=False).bundle_dir,
            "CRM table": train(
                leads=crm_export(demo), label_col="converted", out=root / "crm", track=False
            ).bundle_dir,
        }
        rows = []
        for kind, bundle in bundles.items():
            legacy = root / f"{bundle.name}-legacy"
            legacy.mkdir()
            model = load_model(bundle).model
            joblib.dump(model, legacy / "model.joblib")
            metadata = json.loads((bundle / "metadata.json").read_text())
            metadata["model_sha256"] = sha256_of(legacy / "model.joblib")
            (legacy / "metadata.json").write_text(json.dumps(metadata))
            new = best_of(lambda b=bundle: load_model(b), args.repeat)
            old = best_of(lambda d=legacy: previous_load(d), args.repeat)
            n_trees = len(model.classifier.estimator_[-1]._predictors)
            size_new = (bundle / "model.skops").stat().st_size / 1e6
            size_old = (legacy / "model.joblib").stat().st_size / 1e6
            rows.append((kind, n_trees, size_new, size_old, new, old))
    print(f"\nload_model, best of {args.repeat} ({args.leads:,} demo leads)\n")
    print("| model | trees | skops file | joblib file | skops load | joblib load | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, trees, size_new, size_old, new, old in rows:
        print(
            f"| {kind} | {trees} | {size_new:.2f} MB | {size_old:.2f} MB | "
            f"{new * 1e3:.1f} ms | {old * 1e3:.1f} ms | {new / old:.2f} |"
        )


if __name__ == "__main__":
    main()
