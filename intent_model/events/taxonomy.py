"""The event taxonomy: which event types are hard conversions, soft conversions or engagement.

The default ships inside the package (``default_taxonomy.toml``, from the
table in docs/contracts.md); a user file or config section extends or
overrides it. An event type the taxonomy does not know counts as
``engagement`` and is reported, never silently absorbed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from intent_model.errors import ConfigError
from intent_model.io.config import TaxonomyConfig, build_section, read_toml

EVENT_CLASSES = ("hard", "soft", "engagement")
UNKNOWN_CLASS = "engagement"

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[\W_]+")


def normalize_event_type(name: str) -> str:
    """Normalise an event type name for matching.

    Examples
    --------
    >>> [normalize_event_type(n) for n in ["Demo Request", "demo-request", "DemoRequest"]]
    ['demo_request', 'demo_request', 'demo_request']
    """
    spaced = _CAMEL_BOUNDARY.sub("_", str(name).strip())
    # Letters of any script are kept (casefolded); everything else separates words.
    return _NOT_WORD.sub("_", spaced.casefold()).strip("_")


@dataclass(frozen=True)
class Taxonomy:
    """Maps event types to ``hard``, ``soft`` or ``engagement``.

    Use :func:`load_taxonomy` to build one; ``classes`` and ``aliases`` hold
    normalised names.
    """

    classes: Mapping[str, str]
    aliases: Mapping[str, str]

    @classmethod
    def from_dict(cls, table: Mapping[str, Mapping[str, str]]) -> Taxonomy:
        """The taxonomy a model's metadata stores (``{"classes": ..., "aliases": ...}``)."""
        return cls(classes=dict(table["classes"]), aliases=dict(table["aliases"]))

    def canonical(self, event_type: str) -> str:
        """The normalised name, with a known alias replaced by its target."""
        name = normalize_event_type(event_type)
        return self.aliases.get(name, name)

    def class_of(self, event_type: str) -> str:
        """``hard``, ``soft`` or ``engagement`` (the latter also for unknown types)."""
        return self.classes.get(self.canonical(event_type), UNKNOWN_CLASS)

    def is_known(self, event_type: str) -> bool:
        return self.canonical(event_type) in self.classes

    def types_of(self, event_class: str) -> tuple[str, ...]:
        """The canonical event types of one class, sorted."""
        return tuple(sorted(t for t, c in self.classes.items() if c == event_class))

    def classify(self, event_types: pd.Series) -> pd.DataFrame:
        """Canonical name, class and known-flag of every value, vectorised over distinct values.

        Returns
        -------
        pandas.DataFrame
            Same index as ``event_types``; columns ``event_type`` (canonical,
            categorical), ``event_class`` (categorical) and ``is_known`` (bool).
        """
        codes, distinct = pd.factorize(event_types, sort=False)
        canonical = [self.canonical(v) for v in distinct]
        type_code, type_names = pd.factorize(pd.Index(canonical, dtype=object))
        class_code = np.array(
            [EVENT_CLASSES.index(self.classes.get(c, UNKNOWN_CLASS)) for c in canonical],
            dtype=np.int8,
        )
        known = np.array([c in self.classes for c in canonical], dtype=bool)
        # Build the per-row columns from codes: no per-row strings are made.
        return pd.DataFrame(
            {
                "event_type": pd.Categorical.from_codes(
                    _take(type_code, codes), categories=pd.Index(type_names, dtype=object)
                ),
                "event_class": pd.Categorical.from_codes(
                    _take(class_code, codes), categories=EVENT_CLASSES
                ),
                "is_known": np.append(known, False)[codes],
            },
            index=event_types.index,
        )

    def unknown_report(self, event_types: pd.Series, shown_rows: int = 3) -> pd.DataFrame:
        """Event types the taxonomy does not know: how many rows and where.

        Returns
        -------
        pandas.DataFrame
            One row per unknown spelling: ``event_type`` (as written),
            ``counted_as`` (``engagement``), ``n_rows`` and ``first_rows``
            (row positions), most frequent first.
        """
        counts = event_types.value_counts(sort=True)
        unknown = [value for value in counts.index if not self.is_known(value)]
        first_rows = {
            value: list(event_types.index[event_types == value][:shown_rows]) for value in unknown
        }
        return pd.DataFrame(
            {
                "event_type": unknown,
                "counted_as": UNKNOWN_CLASS,
                "n_rows": [int(counts[v]) for v in unknown],
                "first_rows": [first_rows[v] for v in unknown],
            }
        )


def describe_unknown(report: pd.DataFrame) -> str:
    """``type (n rows), ...`` from :meth:`Taxonomy.unknown_report`; long names shortened."""
    return ", ".join(
        f"{name if len(name) <= 60 else name[:57] + '...'} ({n:,} rows)"
        for name, n in zip(report["event_type"].astype(str), report["n_rows"], strict=True)
    )


def _take(per_distinct: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-row values from per-distinct ones; -1 (missing) stays -1."""
    return np.append(per_distinct, -1)[codes]


def default_taxonomy_config() -> TaxonomyConfig:
    """The built-in taxonomy as a :class:`TaxonomyConfig`."""
    text = resources.files("intent_model.events").joinpath("default_taxonomy.toml")
    with resources.as_file(text) as path:
        return taxonomy_config_from_file(path)


def taxonomy_config_from_file(path: str | Path) -> TaxonomyConfig:
    """Read a taxonomy file: ``hard``, ``soft``, ``engagement``, ``aliases``.

    The keys may sit under ``[taxonomy]`` or at the top level.
    """
    table = read_toml(path)
    section = table.get("taxonomy", table)
    return build_section(TaxonomyConfig, section, str(path), prefix="taxonomy.")


def load_taxonomy(*overrides: TaxonomyConfig | str | Path | None) -> Taxonomy:
    """Build the taxonomy: the built-in one, then each override in turn.

    Parameters
    ----------
    *overrides : TaxonomyConfig, path or None
        Later ones win: a type listed under another class moves there; an
        override with ``replace_defaults = true`` starts from nothing.

    Returns
    -------
    Taxonomy

    Raises
    ------
    ConfigError
        When one override lists a type under two classes, or an alias points
        at a type no class lists.

    Examples
    --------
    >>> load_taxonomy().class_of("Demo Requested")
    'hard'
    >>> load_taxonomy(TaxonomyConfig(soft=("demo_request",))).class_of("demo-request")
    'soft'
    """
    classes: dict[str, str] = {}
    aliases: dict[str, str] = {}
    layers = [default_taxonomy_config()]
    for override in overrides:
        if override is None:
            continue
        layer = (
            override
            if isinstance(override, TaxonomyConfig)
            else taxonomy_config_from_file(override)
        )
        layers.append(layer)
    for layer in layers:
        if layer.replace_defaults:
            classes, aliases = {}, {}
        layer_classes = _classes_of(layer)
        for name in layer_classes:
            aliases.pop(name, None)
        classes.update(layer_classes)
        aliases.update(
            {normalize_event_type(a): normalize_event_type(t) for a, t in layer.aliases.items()}
        )
    dangling = sorted(alias for alias, target in aliases.items() if target not in classes)
    if dangling:
        raise ConfigError(
            "taxonomy aliases point at event types no class lists: "
            + ", ".join(f"{a} -> {aliases[a]}" for a in dangling)
        )
    return Taxonomy(classes=classes, aliases=aliases)


def _classes_of(layer: TaxonomyConfig) -> dict[str, str]:
    classes: dict[str, str] = {}
    for event_class in EVENT_CLASSES:
        for name in _normalized(getattr(layer, event_class)):
            if name in classes and classes[name] != event_class:
                raise ConfigError(
                    f"taxonomy lists '{name}' as both {classes[name]} and {event_class}"
                )
            classes[name] = event_class
    return classes


def _normalized(names: Iterable[str]) -> list[str]:
    return [normalize_event_type(n) for n in names]
