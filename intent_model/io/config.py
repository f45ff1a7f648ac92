"""Configuration: one typed, frozen object loaded from TOML and passed down explicitly.

A config file may hold any of these sections; every key is optional::

    [columns]            # map your column names onto ours
    lead_id = "visitorid"
    timestamp = "ts"
    event_type = "event"
    channel = "source"
    created_at = "created"

    [columns.roles]      # CRM-table mode: override an inferred column role
    "Lead Number" = "identifier"
    "Notes" = "ignore"

    [table]              # CRM-table mode: post-outcome checks and evaluation
    keep_columns = ["Lead Quality"]
    column_flag_auc = 0.9

    [input]
    on_bad_rows = "quarantine"       # or "error" (default)
    quarantine_dir = "data/quarantine"
    delimiter = ";"                  # text files: each told from the file unless set
    encoding = "cp1252"
    decimal = ","
    sheet = "Leads"                  # Excel: the first sheet unless set

    [taxonomy]                       # extends or overrides the built-in taxonomy
    hard = ["book_meeting"]
    soft = ["podcast_subscribe"]
    engagement = []
    replace_defaults = false
    [taxonomy.aliases]
    "Meeting Booked" = "book_meeting"

Unknown sections or keys and values of the wrong type raise :class:`ConfigError`
naming the file and the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from intent_model.errors import ConfigError

BadRowPolicy = Literal["error", "quarantine"]
# The role of a column of a lead table: how it is encoded, or "ignore". The one list;
# FEATURE_ROLES are the roles that become features.
ColumnRole = Literal["identifier", "numeric", "categorical", "text", "date", "ignore"]
FEATURE_ROLES: tuple[str, ...] = tuple(r for r in typing.get_args(ColumnRole) if r != "ignore")
# A duration, kept in days: a number of days, or a string in hours, days or weeks
# ("6h", "2d", "1w", "90m"). Whole days stay an int, so "48h" and 2 are the same value.
Days = typing.NewType("Days", float)
_DURATION_UNITS = {"m": 1 / 1440, "h": 1 / 24, "d": 1.0, "w": 7.0}


@dataclass(frozen=True)
class ColumnMapping:
    """Names of the contract's columns in the user's files.

    Each attribute is *our* name; its value is the column name in *their* file.
    """

    lead_id: str = "lead_id"
    timestamp: str = "timestamp"
    event_type: str = "event_type"
    channel: str = "channel"
    created_at: str = "created_at"
    # The leads table's account (company) id, when it has one: contacts of one account
    # then share account-level features. Empty: no account.
    account_id: str = ""
    # CRM-table mode: a column's role (key: its name in your file), overriding the
    # inferred one; "ignore" leaves the column out.
    roles: Mapping[str, ColumnRole] = field(default_factory=dict)

    def renames(self) -> dict[str, str]:
        """Their name -> our name, for the columns whose names differ."""
        names = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "roles"
        }
        return {theirs: ours for ours, theirs in names.items() if theirs and theirs != ours}


@dataclass(frozen=True)
class InputConfig:
    """How inputs are read and what happens to rows that break the contract."""

    on_bad_rows: BadRowPolicy = "error"
    quarantine_dir: str = "data/quarantine"
    # Text files: each is told from the file unless set here.
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    # Excel: a sheet name; the first sheet by default.
    sheet: str | None = None


@dataclass(frozen=True)
class TaxonomyConfig:
    """User additions to (or a replacement of) the built-in event taxonomy."""

    hard: tuple[str, ...] = ()
    soft: tuple[str, ...] = ()
    engagement: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    replace_defaults: bool = False


DEFAULT_PROFILE_FIELDS = (
    "email",
    "phone",
    "company",
    "job_title",
    "company_size",
    "industry",
    "country",
    "website",
    "budget",
    "timeline",
    "message",
)
DEFAULT_FREE_EMAIL_DOMAINS = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "web.de",
    "mail.com",
    "yandex.ru",
    "qq.com",
    "163.com",
)


# Values of a profile field that mean "not given": web-form defaults and
# placeholders real CRM exports are full of. Compared stripped and casefolded.
DEFAULT_MISSING_VALUES = (
    "select",
    "-- select --",
    "--select--",
    "select one",
    "choose one",
    "please select",
    "n/a",
    "na",
    "none",
    "null",
    "unknown",
    "not provided",
    "-",
)


@dataclass(frozen=True)
class LabelConfig:
    """Training snapshots: which (lead, cutoff) pairs, and what counts as positive.

    A lead is in the population at a cutoff once it exists: its first event
    or its ``created_at`` is before the cutoff. The label is 1 when the lead
    makes a hard conversion in ``[cutoff, cutoff + horizon_days)``.
    """

    horizon_days: Days = 30
    # Cutoffs: every `step_days` (a duration), at each month start ("month", or 0), or
    # "auto": month starts unless the log is too small for them to give enough positive
    # snapshots, then finer (docs/training.md); the choice is printed.
    step_days: Days | Literal["auto", "month"] = "auto"
    first_cutoff: str = ""
    last_cutoff: str = ""
    # The first cutoff comes at least this long after the first event.
    min_history_days: Days = 60
    # Leave out a lead at a cutoff when it made a hard conversion in the N days
    # before it (0 keeps everyone): "about to act again" is a different question.
    exclude_recent_hard_days: Days = 0
    # Drop a lead's snapshots after its first positive one.
    stop_after_first_positive: bool = False
    # CRM label mode: a label column in the leads table (hard/soft, 1/0, ...).
    label_col: str = ""
    labeled_at_col: str = "labeled_at"

    def __post_init__(self) -> None:
        _parse_durations(self, ("horizon_days", "min_history_days", "exclude_recent_hard_days"))
        if self.step_days not in ("auto", "month"):
            _parse_durations(self, ("step_days",))


@dataclass(frozen=True)
class FeatureConfig:
    """Feature families (docs/point-in-time.md)."""

    windows_days: tuple[Days, ...] = (7, 30, 90)
    decay_half_life_days: Days = 14
    profile_fields: tuple[str, ...] = DEFAULT_PROFILE_FIELDS
    free_email_domains: tuple[str, ...] = DEFAULT_FREE_EMAIL_DOMAINS
    # Profile values that count as "not given" (empty and white space always do);
    # extra_missing_values adds to the defaults.
    missing_values: tuple[str, ...] = DEFAULT_MISSING_VALUES
    extra_missing_values: tuple[str, ...] = ()
    # Events in memory at once (about): the log is split by lead into chunks,
    # one per core at work, whose sizes add up to this, so peak memory is set
    # by it and not by the size of the log.
    chunk_events: int = 2_000_000

    def __post_init__(self) -> None:
        _parse_durations(self, ("decay_half_life_days",))
        windows = tuple(parse_duration(w, "windows_days") for w in self.windows_days)
        object.__setattr__(self, "windows_days", windows)

    def placeholders(self) -> tuple[str, ...]:
        """Every value that means "not given", stripped and casefolded for comparison."""
        return tuple(
            v.strip().casefold() for v in (*self.missing_values, *self.extra_missing_values)
        )


@dataclass(frozen=True)
class GuardConfig:
    """Minimums before training, and the leakage alarm."""

    min_positives: int = 50
    min_negatives: int = 200
    min_cutoffs: int = 3
    # An event feature whose AUC on its own, on the latest cutoff, is above this raises
    # the leakage alarm in the training report (it is reported, not left out).
    feature_alarm_auc: float = 0.95


@dataclass(frozen=True)
class TrainingConfig:
    """Model training, evaluation, tracking and promotion."""

    # The latest cutoffs are held out for out-of-time evaluation.
    holdout_cutoffs: int = 3
    # Folds (grouped by lead) over the development cutoffs or rows, on which the model is
    # selected and calibrated and the decision threshold and tiers are chosen.
    selection_folds: int = 3
    # The candidates, their number of trees and the calibrator are chosen on folds of
    # at most this many development rows (whole leads, drawn at random); the chosen
    # model then learns from every row. 0: choose on every row. At 10M events this
    # made the gradient boosting 4x faster for 0.0006 of out-of-time AUC (docs/training.md).
    selection_rows: int = 50_000
    calibration: Literal["sigmoid", "isotonic"] = "sigmoid"
    class_weight: Literal["none", "balanced"] = "none"
    random_state: int = 0
    # Leads sales can contact per scoring run ("we can call 200 leads a week").
    sales_capacity: int = 200
    # Share of leads in tiers A, B and C (the rest is D), by validation score.
    tier_shares: tuple[float, ...] = (0.05, 0.15, 0.30)
    promotion_metric: Literal["average_precision", "roc_auc", "log_loss", "brier"] = (
        "average_precision"
    )
    # Where models trained on events are tracked (table models: [table] table_experiment).
    event_experiment: str = "lead-intent"
    registered_model: str = "lead-intent"
    tracking_uri: str = "sqlite:///mlflow.db"


@dataclass(frozen=True)
class TableConfig:
    """CRM-table mode: training and scoring from one row per lead, without events."""

    # Columns to keep although a post-outcome check flagged them (their names in your file).
    keep_columns: tuple[str, ...] = ()
    # A column whose out-of-fold AUC on its own is above this is flagged as written
    # after the outcome and left out: honest engagement columns of CRM exports stay
    # well below.
    column_flag_auc: float = 0.9
    # A column is suspected (reported, shown both ways, kept) when leaving it out costs a
    # model on all the columns more than this much AUC (out of fold), or when alone it
    # predicts at least as well as all the others together (docs/leakage.md).
    dominance_margin: float = 0.05
    # A model whose out-of-sample AUC is above this has almost surely learned a leak:
    # training warns (LeakWarning).
    model_warning_auc: float = 0.97
    # Stratified folds for the evaluation when the table has no creation date.
    evaluation_folds: int = 5
    # With a creation date: the newest share of leads is held out (out of time).
    holdout_share: float = 0.2
    # The candidate, its number of trees and the calibrator of a table model are chosen
    # on at most this many rows (whole leads, drawn at random; [training] selection_rows
    # of event models); the chosen model then learns from every row. 0: every row. One
    # row per lead is cheap to choose on: at 100,000 rows this took 3 s off a 23 s
    # training, with the same figures on a real 328,521-row table (docs/crm-table.md).
    selection_rows: int = 25_000
    # Categories of a categorical column kept as their own feature: at most this many,
    # each on at least min_category_rows rows; the rest are pooled as "(other)".
    max_categories: int = 30
    min_category_rows: int = 10
    # Table models are tracked and registered apart from event models: their inputs differ.
    table_experiment: str = "lead-intent-crm"
    registered_model: str = "lead-intent-crm"


@dataclass(frozen=True)
class PlaybookConfig:
    """What sales does next (docs/scoring.md); a team edits the words, not the code."""

    # Hard intent in tier A: the hottest leads.
    hard_urgent: str = (
        "Call today: personal outreach from sales with a clear next step "
        "(book a demo, send a quote)."
    )
    hard: str = (
        "Sales follow-up within 2 business days: a personal e-mail or call offering a demo "
        "or a trial, with one clear call to action."
    )
    soft: str = (
        "Nurture: useful content and targeted e-mail (case studies, guides, webinars); "
        "build the relationship, don't push."
    )
    # Leads that already bought, and leads the CRM closed: not ranked.
    converted: str = "Hand over to account management: already a customer, no sales outreach."
    closed: str = "No outreach: the lead is closed in the CRM."


@dataclass(frozen=True)
class PredictConfig:
    """Batch scoring."""

    positive_reasons: int = 3
    negative_reasons: int = 2
    # A score change of at least this many points (0-100) against the previous
    # run is "rising" or "falling"; smaller changes are "steady".
    trend_points: int = 5
    # Who is ranked: "open" (default) ranks the leads that can still convert; the
    # others keep their row with intent = converted / closed. "all" ranks everyone.
    score: Literal["open", "all"] = "open"
    # A hard conversion this many days before as_of means converted (default: the
    # model's label horizon).
    exclude_converted_days: Days | None = None
    # Leads-table column -> values that mean the lead is closed (any case).
    closed_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.exclude_converted_days is not None:
            _parse_durations(self, ("exclude_converted_days",))


@dataclass(frozen=True)
class RuntimeConfig:
    """How much of the machine a run uses."""

    # Cores a run works on at once (feature chunks, model fits, thread pools of
    # numpy and OpenMP); 0 means every core this process may use. A nightly job
    # sharing its machine sets it lower.
    jobs: int = 0


@dataclass(frozen=True)
class Config:
    """Everything a run needs to know besides the data itself."""

    columns: ColumnMapping = field(default_factory=ColumnMapping)
    input: InputConfig = field(default_factory=InputConfig)
    taxonomy: TaxonomyConfig = field(default_factory=TaxonomyConfig)
    labels: LabelConfig = field(default_factory=LabelConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    guards: GuardConfig = field(default_factory=GuardConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    table: TableConfig = field(default_factory=TableConfig)
    playbook: PlaybookConfig = field(default_factory=PlaybookConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def replace(self, **sections: Any) -> Config:
        """Return a copy with whole sections replaced (``config.replace(input=...)``)."""
        return dataclasses.replace(self, **sections)


def with_columns(config: Config | None, columns: Mapping[str, str] | None) -> Config:
    """The config with the column mapping of the Python API on top (like the CLI's flags).

    Examples
    --------
    >>> with_columns(None, {"lead_id": "Prospect ID"}).columns.lead_id
    'Prospect ID'
    """
    config = config or Config()
    if not columns:
        return config
    known = [f.name for f in dataclasses.fields(ColumnMapping) if f.name != "roles"]
    unknown = sorted(set(columns) - set(known))
    if unknown:
        raise ConfigError(
            f"columns: unknown key(s) {', '.join(unknown)}; map our names "
            f"({', '.join(known)}) to your column names"
        )
    return config.replace(columns=dataclasses.replace(config.columns, **columns))


def load_config(path: str | Path | None = None) -> Config:
    """Load a :class:`Config` from a TOML file, or the defaults when ``path`` is None.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file with any of the sections ``[columns]``, ``[input]``,
        ``[taxonomy]``.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        When the file is missing, is not valid TOML, or has an unknown key or a
        value of the wrong type.

    Examples
    --------
    >>> load_config().columns.lead_id
    'lead_id'
    """
    if path is None:
        return Config()
    table = read_toml(path)
    return config_from_dict(table, source=str(path))


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a :class:`ConfigError`."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None


def config_from_dict(table: Mapping[str, Any], source: str = "<config>") -> Config:
    """Build a :class:`Config` from a parsed TOML table, checking every key and type."""
    return build_section(Config, table, source, prefix="")


def build_section(cls: type, table: Any, source: str, prefix: str) -> Any:
    """Build the dataclass ``cls`` from a TOML table, rejecting unknown keys and wrong types."""
    where = prefix.rstrip(".") or "top level"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: [{where}] must be a table, got {table!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    table = _renamed(table, RENAMED_KEYS.get(cls.__name__, {}), source, where)
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(prefix + k for k in unknown)} "
            f"in [{where}]; known keys: {', '.join(sorted(known))}"
        )
    values = {
        name: _convert(hints[name], value, source, prefix + name) for name, value in table.items()
    }
    return cls(**values)


# Keys that were renamed because one name meant two or three things; old files and the
# metadata of models trained before still load, with a warning.
RENAMED_KEYS = {
    "GuardConfig": {"leakage_auc": "feature_alarm_auc"},
    # Two sections had a cv_folds and an experiment of different meaning.
    "TrainingConfig": {"cv_folds": "selection_folds", "experiment": "event_experiment"},
    "TableConfig": {
        "leakage_auc": "column_flag_auc",
        "leak_warning_auc": "model_warning_auc",
        "cv_folds": "evaluation_folds",
        "experiment": "table_experiment",
    },
}


def _renamed(table: Mapping[str, Any], renames: dict[str, str], source: str, where: str) -> dict:
    table = dict(table)
    for old, new in renames.items():
        if old in table:
            warnings.warn(
                f"{source}: [{where}] {old} is now called {new}; rename it",
                FutureWarning,
                stacklevel=4,
            )
            table.setdefault(new, table.pop(old))
    return table


def parse_duration(value: Any, where: str = "duration") -> int | float:
    """A duration in days from a number of days or a string such as ``"6h"`` or ``"2d"``.

    Whole days come back as an int, so ``"48h"``, ``"2d"`` and ``2`` are one value.

    Examples
    --------
    >>> parse_duration("6h"), parse_duration("48h"), parse_duration(1.5), parse_duration(" 2 d")
    (0.25, 2, 1.5, 2)
    """
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be a duration, got {value!r}")
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        unit = text[-1:] if text[-1:] in _DURATION_UNITS else "d"
        amount = text[:-1] if text[-1:] in _DURATION_UNITS else text
        try:
            days = float(amount) * _DURATION_UNITS[unit]
        except ValueError:
            raise ConfigError(
                f"{where} = {value!r} is not a duration; write a number of days or "
                'a number with a unit: "90m", "6h", "2d", "1w"'
            ) from None
    elif isinstance(value, int | float):
        days = float(value)
    else:
        raise ConfigError(f"{where} must be a duration, got {type(value).__name__} {value!r}")
    if days != days or days < 0 or days == float("inf"):
        raise ConfigError(f"{where} = {value!r} must be a finite duration of 0 or more")
    # Durations name features ("count_hard_6h"): they are kept to whole minutes.
    minutes = round(days * 1440)
    if abs(days * 1440 - minutes) > 1e-6:
        raise ConfigError(f"{where} = {value!r} is not a whole number of minutes")
    return minutes // 1440 if minutes % 1440 == 0 else minutes / 1440


def _parse_durations(section: Any, names: tuple[str, ...]) -> None:
    """Durations given to the Python API as strings ("6h") become days, as in a file."""
    for name in names:
        object.__setattr__(section, name, parse_duration(getattr(section, name), name))


def _convert(hint: Any, value: Any, source: str, key: str) -> Any:
    if hint is Days:
        return parse_duration(value, f"{source}: {key}")
    if dataclasses.is_dataclass(hint):
        return build_section(hint, value, source, prefix=key + ".")
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(
                f"{source}: {key} = {value!r} is not allowed; use one of "
                + ", ".join(repr(a) for a in allowed)
            )
        return value
    if origin is tuple:
        (item_type,) = {a for a in get_args(hint) if a is not Ellipsis}
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{source}: {key} must be a list, got {value!r}")
        return tuple(
            _convert(item_type, item, source, f"{key}[{i}]") for i, item in enumerate(value)
        )
    if origin in (Mapping, dict) or hint is dict:
        key_type, value_type = get_args(hint)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: {key} must be a table, got {value!r}")
        return {
            _convert(key_type, k, source, key): _convert(value_type, v, source, f"{key}.{k}")
            for k, v in value.items()
        }
    if origin in (types.UnionType, typing.Union):
        problems = []
        for option in get_args(hint):
            if option is type(None):
                if value is None:
                    return None
                continue
            try:
                return _convert(option, value, source, key)
            except ConfigError as exc:
                problems.append(str(exc).removeprefix(f"{source}: "))
        raise ConfigError(f"{source}: " + "; or ".join(problems))
    expected = {str: str, bool: bool, int: int, float: (int, float)}.get(hint)
    if expected is None:
        raise TypeError(f"config field {key} has an unsupported type hint {hint!r}")
    # bool is an int in Python; a TOML `true` where a number is expected is a typo.
    if not isinstance(value, expected) or (hint is not bool and isinstance(value, bool)):
        raise ConfigError(
            f"{source}: {key} must be {hint.__name__}, got {type(value).__name__} {value!r}"
        )
    return float(value) if hint is float else value
