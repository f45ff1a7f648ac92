"""Command line: parse, call the Python API, print. Nothing here a notebook would need."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from intent_model.errors import ConfigError, InputError, IntentModelError
from intent_model.events.log import count_duplicate_events, event_mix, load_events
from intent_model.events.taxonomy import load_taxonomy
from intent_model.io.config import Config, load_config
from intent_model.io.database import is_database_url
from intent_model.io.load import load_leads, write_quarantine
from intent_model.simulate.funnel import simulate_funnel, write_demo_data
from intent_model.simulate.scenarios import DEFAULT_SCENARIO, SCENARIOS
from intent_model.version import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``intent-model`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return args.handler(args)
    except IntentModelError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug of ours: one line, the traceback only on request
        if args.debug:
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {exc} "
            "(this is a bug in intent-model; run again with --debug for the traceback and "
            "report it)",
            file=sys.stderr,
        )
        return 1


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intent-model",
        description="Predict hard vs soft purchase intent of sales leads.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for add_command in (
        _add_generate,
        _add_validate,
        _add_train,
        _add_promote,
        _add_predict,
        _add_monitor,
        _add_convert_bundle,
    ):
        add_command(commands)
    return parser


def _add_generate(commands) -> None:
    generate = commands.add_parser(
        "generate", help="write realistic demo data (events, leads, truth) as Parquet"
    )
    generate.add_argument("--out", required=True, type=Path, help="directory to write into")
    generate.add_argument("--leads", type=int, default=5000, help="number of leads (default 5000)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    generate.add_argument("--start", default="2024-06-01", help="first day of the data")
    generate.add_argument("--days", type=int, default=548, help="length in days (default 548)")
    generate.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        choices=list(SCENARIOS),
        help="which funnel: "
        + "; ".join(f"{name}: {s.summary}" for name, s in SCENARIOS.items())
        + f" (default {DEFAULT_SCENARIO})",
    )
    generate.add_argument(
        "--crm",
        action="store_true",
        help="also write crm_leads.parquet: a one-row-per-lead CRM export with placeholders "
        "and columns written after the outcome",
    )
    _add_debug(generate)
    generate.set_defaults(handler=_generate)


def _add_validate(commands) -> None:
    validate = commands.add_parser(
        "validate",
        help="check events (and leads) against the input contract and summarise them; or a "
        "CRM table alone (--leads F [--label-col C]): its rows, column roles and label",
    )
    _add_data_arguments(validate, events_required=False)
    validate.add_argument(
        "--label-col", help="with --leads alone: the label column to check (0/1, yes/no, ...)"
    )
    validate.set_defaults(handler=_validate)


def _add_train(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train, evaluate out of time, log to MLflow, register and save a bundle "
        "(from events, or from a CRM table alone: --leads F --label-col C)",
    )
    _add_data_arguments(train, events_required=False)
    train.add_argument("--out", type=Path, required=True, help="model bundle directory to write")
    train.add_argument(
        "--label-col",
        help="label column of the leads table (0/1, yes/no, true/false, hard/soft): trains "
        "from the table alone when no --events are given",
    )
    train.add_argument(
        "--keep-column",
        action="append",
        default=[],
        metavar="NAME",
        help="keep a table column although a post-outcome check flagged it (repeatable)",
    )
    _add_tracking_arguments(train)
    _add_jobs(train)
    train.add_argument("--no-track", action="store_true", help="write the bundle only, no MLflow")
    train.add_argument(
        "--promote",
        action="store_true",
        help="make the new version champion if it beats the current one out of time",
    )
    train.set_defaults(handler=_train)


def _add_promote(commands) -> None:
    promote = commands.add_parser(
        "promote",
        help="move the champion alias to a version that beats the champion out of time "
        "(event models: --events; table models: --leads alone)",
    )
    _add_data_arguments(promote, events_required=False)
    _add_tracking_arguments(promote)
    promote.add_argument("--version", help="registered version to promote (default: challenger)")
    promote.set_defaults(handler=_promote)


def _add_predict(commands) -> None:
    predict = commands.add_parser(
        "predict", help="score every lead: p_hard, intent, score, tier, rank, reasons, next action"
    )
    predict.add_argument(
        "--model",
        required=True,
        help="MLflow URI (models:/lead-intent@champion: what was promoted) or a bundle "
        "directory (models/demo)",
    )
    _add_data_arguments(predict, events_required=False)
    predict.add_argument(
        "--out",
        type=source_argument,
        required=True,
        help="scores: a .parquet or .csv file, or a database table "
        "(postgresql://...?table=lead_scores, duckdb:file.duckdb?table=lead_scores)",
    )
    predict.add_argument(
        "--as-of", help="score as of this time (default: one second after the latest event)"
    )
    predict.add_argument(
        "--previous",
        type=source_argument,
        help="last run's scores (a file or a database table): adds trend "
        "(rising/steady/falling/new)",
    )
    predict.add_argument(
        "--report",
        type=Path,
        metavar="FILE.html",
        help="also write a report a person opens in a browser: tiers, the top leads with "
        "reasons, drift, the model's figures",
    )
    predict.add_argument(
        "--score",
        choices=("open", "all"),
        help="open (default): rank the leads that can still convert; leads that already "
        "converted or are closed keep their row, not ranked. all: rank every lead",
    )
    _add_tracking_arguments(predict)
    _add_jobs(predict)
    predict.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="local (default) or spark: the same feature and scoring code on Spark",
    )
    predict.add_argument(
        "--spark-master",
        default="local[2]",
        help="Spark master for --engine spark (default local[2]; 'yarn', 'spark://host:7077')",
    )
    predict.set_defaults(handler=_predict)


def _add_monitor(commands) -> None:
    monitor = commands.add_parser(
        "monitor",
        help="how past scores turned out: each lead's outcome since as_of, realized against "
        "promised metrics, conversion by tier and decile, a report.html; logged to MLflow",
    )
    monitor.add_argument(
        "--scores", type=source_argument, required=True, help="what predict wrote (file or table)"
    )
    _add_data_arguments(monitor, events_required=False)
    monitor.add_argument(
        "--out",
        type=Path,
        required=True,
        help="folder for outcomes.parquet, summary.json, report.html",
    )
    monitor.add_argument(
        "--model", help="the model that scored (default: the registry version the scores name)"
    )
    monitor.add_argument(
        "--label-col", help="a table model's label column in the newer export (--leads)"
    )
    monitor.add_argument(
        "--fail-below",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="exit with 3 when a realized metric is below the value (repeatable), for a "
        "scheduler to alert on: --fail-below roc_auc=0.7",
    )
    monitor.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    _add_tracking_arguments(monitor)
    monitor.set_defaults(handler=_monitor)


def _monitor(args: argparse.Namespace) -> int:
    from intent_model.monitoring.monitor import monitor

    config = config_from_args(args)
    lines = {}
    for item in args.fail_below:
        metric, _, value = item.partition("=")
        try:
            lines[metric.strip()] = float(value)
        except ValueError:
            raise ConfigError(
                f"--fail-below {item!r}: use METRIC=VALUE, e.g. roc_auc=0.7"
            ) from None
    result = monitor(
        args.scores,
        args.events,
        args.leads,
        args.out,
        model=args.model,
        label_col=args.label_col,
        config=config,
        tracking_uri=args.tracking_uri,
        track=not args.no_track,
        fail_below=lines,
    )
    print(result.summary_text())
    return 3 if result.failed else 0


def _add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri", help="MLflow tracking store (default: sqlite:///mlflow.db)"
    )


def _add_convert_bundle(commands) -> None:
    convert = commands.add_parser(
        "convert-bundle",
        help="rewrite a bundle of the previous format (model.joblib, a pickle) that you made "
        "yourself as model.skops; the pickle is loaded, so only for bundles you trust",
    )
    convert.add_argument("bundle", type=Path, help="the bundle directory (replaced atomically)")
    _add_debug(convert)
    convert.set_defaults(handler=_convert_bundle)


def _convert_bundle(args: argparse.Namespace) -> int:
    from intent_model.modeling.bundle import convert_legacy_bundle

    converted = convert_legacy_bundle(args.bundle)
    print(
        f"converted {converted}: model.joblib (a pickle) is now model.skops, which loads "
        "without running code; score it with --model, or retrain to register it"
    )
    return 0


def _add_jobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="cores to work on at once (default: [runtime] jobs, else every core this process "
        "may use); lower it when the machine is shared",
    )


def source_argument(value: str) -> str | Path:
    """A command line's file path, or a database URL kept as written (a Path would fold its //)."""
    return value if is_database_url(value) else Path(value)


def _add_debug(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def _add_data_arguments(parser: argparse.ArgumentParser, events_required: bool = True) -> None:
    parser.add_argument(
        "--events",
        type=source_argument,
        required=events_required,
        help="events: a file (CSV, Excel or Parquet) or a database URL with ?table= or ?query="
        + ("" if events_required else "; without it, the leads table alone (a CRM export)"),
    )
    parser.add_argument(
        "--leads",
        type=source_argument,
        help="leads: a file or a database URL (postgresql://..., duckdb:...), optional",
    )
    parser.add_argument("--config", type=Path, help="TOML config file")
    parser.add_argument("--taxonomy", type=Path, help="TOML taxonomy file extending the default")
    parser.add_argument("--lead-id-col", help="name of the lead id column in your files")
    parser.add_argument("--timestamp-col", help="name of the timestamp column in your events")
    parser.add_argument("--event-type-col", help="name of the event type column in your events")
    parser.add_argument("--channel-col", help="name of the channel column in your events")
    parser.add_argument(
        "--created-at-col",
        help="name of the lead creation date column in your leads table (a CRM table with it "
        "is evaluated out of time)",
    )
    parser.add_argument(
        "--on-bad-rows",
        choices=("error", "quarantine"),
        help="stop on rows that break the contract (default), or set them aside and go on",
    )
    parser.add_argument(
        "--quarantine-dir", type=Path, help="where rejected rows go (default data/quarantine)"
    )
    _add_debug(parser)


def config_from_args(args: argparse.Namespace) -> Config:
    """The config file's settings with the command-line flags on top."""
    config = load_config(args.config)
    flags = {
        "lead_id": args.lead_id_col,
        "timestamp": args.timestamp_col,
        "event_type": args.event_type_col,
        "channel": args.channel_col,
        "created_at": args.created_at_col,
    }
    columns = dataclasses.replace(
        config.columns, **{k: v for k, v in flags.items() if v is not None}
    )
    input_config = config.input
    if args.on_bad_rows:
        input_config = dataclasses.replace(input_config, on_bad_rows=args.on_bad_rows)
    if args.quarantine_dir:
        input_config = dataclasses.replace(input_config, quarantine_dir=str(args.quarantine_dir))
    sections = {"columns": columns, "input": input_config}
    if getattr(args, "label_col", None):
        sections["labels"] = dataclasses.replace(config.labels, label_col=args.label_col)
    if getattr(args, "keep_column", None):
        kept = (*config.table.keep_columns, *args.keep_column)
        sections["table"] = dataclasses.replace(config.table, keep_columns=kept)
    if getattr(args, "score", None):
        sections["predict"] = dataclasses.replace(config.predict, score=args.score)
    if getattr(args, "jobs", None) is not None:
        sections["runtime"] = dataclasses.replace(config.runtime, jobs=args.jobs)
    return config.replace(**sections)


def _generate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    demo = simulate_funnel(
        n_leads=args.leads,
        seed=args.seed,
        start=args.start,
        n_days=args.days,
        scenario=args.scenario,
    )
    paths = write_demo_data(demo, args.out)
    if args.crm:
        from intent_model.io.files import write_table
        from intent_model.simulate.crm import crm_export

        paths["crm"] = write_table(crm_export(demo, args.seed), args.out / "crm_leads.parquet")
    elapsed = time.perf_counter() - started
    print(
        f"Simulated {len(demo.leads):,} leads and {len(demo.events):,} events "
        f"from {demo.start.date()} to {demo.end.date()} in {elapsed:.1f} s "
        f"(scenario {args.scenario}, seed {args.seed})."
    )
    for name, path in paths.items():
        print(f"  {name:<7} {path}")
    if "account_id" in demo.leads:
        print('  The leads carry account_id: train with [columns] account_id = "account_id".')
    return 0


def _validate(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.events is None:
        return _validate_table(args, config)
    taxonomy = load_taxonomy(config.taxonomy, args.taxonomy)
    log = load_events(args.events, config, taxonomy)
    tables = [log.checked]
    if args.leads:
        tables.append(load_leads(args.leads, config))
    for table in tables:
        print(table.accounting())
        written = write_quarantine(table, config.input.quarantine_dir)
        if written:
            print(f"  rejected rows and reasons: {written}")
    events = log.events
    print(
        f"\n{events['lead_id'].nunique():,} leads with events, from "
        f"{events['timestamp'].min()} to {events['timestamp'].max()}"
    )
    duplicates = count_duplicate_events(events)
    if duplicates:
        print(
            f"{duplicates:,} duplicated events (same lead, time and type): kept as events, "
            "counted in every run; remove them at the source if a tracker fires twice"
        )
    print("\nEvent mix by taxonomy class:")
    print(_indent(event_mix(events).to_string()))
    if len(log.unknown_types):
        print(
            f"\n{len(log.unknown_types)} event type(s) not in the taxonomy, counted as engagement "
            "(add them to a taxonomy file with --taxonomy to classify them):"
        )
        shown = log.unknown_types.assign(
            event_type=log.unknown_types["event_type"].astype(str).str.slice(0, 60)
        )
        print(_indent(shown.to_string(index=False)))
    return 0


def _validate_table(args: argparse.Namespace, config: Config) -> int:
    """A CRM table alone: rows, quarantine, the roles its columns would get, the label."""
    from intent_model.table.roles import infer_roles, load_lead_table, roles_table

    if args.leads is None:
        raise ConfigError("nothing to validate: give --events, or a lead table with --leads")
    table = load_lead_table(args.leads, config, label_col=args.label_col)
    print(table.checked.accounting())
    written = write_quarantine(table.checked, config.input.quarantine_dir)
    if written:
        print(f"  rejected rows and reasons: {written}")
    roles = infer_roles(
        table.checked.frame,
        config.features.placeholders(),
        args.label_col,
        dict(config.columns.roles),
    )
    print("\nColumn roles (override with [columns.roles]):")
    print(_indent(roles_table(roles)))
    if table.label is not None:
        n_positive = int(table.label.sum())
        print(
            f"\nlabel {args.label_col!r}: {n_positive:,} converted of {len(table.label):,} "
            f"({n_positive / len(table.label):.1%})"
        )
    return 0


# Training and promotion import MLflow, which takes seconds: only those commands pay for it.
def _train(args: argparse.Namespace) -> int:
    from intent_model.training.train import train

    config = config_from_args(args)
    taxonomy = load_taxonomy(config.taxonomy, args.taxonomy)
    if args.events is None and args.leads is None:
        raise ConfigError("nothing to train on: give --events (and --leads), or --leads alone")
    result = train(
        args.events,
        args.leads,
        args.out,
        config,
        taxonomy,
        label_col=config.labels.label_col or None,
        tracking_uri=args.tracking_uri,
        track=not args.no_track,
        promote=args.promote,
        progress=_progress,
    )
    print()
    print(result.summary())
    return 0


def _promote(args: argparse.Namespace) -> int:
    from intent_model.training.promote import promote

    _refuse_taxonomy(args)
    config = config_from_args(args)
    result = promote(
        args.events, args.leads, config, version=args.version, tracking_uri=args.tracking_uri
    )
    print(result.message)
    return 0


def _refuse_taxonomy(args: argparse.Namespace) -> None:
    if args.taxonomy:
        raise ConfigError(
            f"{args.command} uses the taxonomy each model was trained with; --taxonomy applies "
            "to validate and train (retrain to change it)"
        )


def _predict(args: argparse.Namespace) -> int:
    from intent_model.scoring.predict import predict

    _refuse_taxonomy(args)
    config = config_from_args(args)
    if args.engine == "spark":
        return _predict_on_spark(args, config)
    result = predict(
        args.model,
        args.events,
        args.leads,
        args.out,
        args.as_of,
        config,
        previous=args.previous,
        tracking_uri=args.tracking_uri,
        progress=_progress,
        report=args.report,
    )
    print(result.summary())
    top = result.scores.head(5)[["rank", "lead_id", "p_hard", "tier", "intent", "top_reasons"]]
    print("\nTop leads:")
    print(_indent(top.to_string(index=False, max_colwidth=90)))
    return 0


def _predict_on_spark(args: argparse.Namespace, config: Config) -> int:
    from intent_model.engines.spark import spark_predict, spark_session

    if any(is_database_url(a) for a in (args.events, args.leads, args.out, args.previous)):
        raise InputError(
            "--engine spark reads and writes files (Parquet, on any file system Spark reaches); "
            "for a database, read it with Spark's JDBC source and call spark_predict on the "
            "DataFrames, or use the local engine"
        )
    if args.events is None:
        raise ConfigError(
            "--engine spark scores event logs; score a lead table alone with the local engine"
        )
    if str(args.out).lower().endswith(".csv"):
        raise ConfigError("--engine spark writes Parquet: give --out a directory or .parquet path")
    spark = spark_session(args.spark_master)
    scores = spark_predict(spark, args.model, args.events, args.leads, args.out, args.as_of, config)
    written = spark.read.parquet(str(args.out))
    tiers = {row["tier"]: row["count"] for row in written.groupBy("tier").count().collect()}
    print(
        f"Scored {written.count():,} leads on Spark ({args.spark_master}); tiers "
        + ", ".join(f"{k} {tiers.get(k, 0):,}" for k in "ABCD")
        + f"; written to {args.out}"
    )
    del scores
    return 0


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


if __name__ == "__main__":  # pragma: no cover
    pd.set_option("display.width", 120)
    raise SystemExit(main())
