"""The families of what a lead told: which profile fields it had given by the cutoff, their
values, and the leads table's other columns (encoded as in CRM-table mode).

The information family computes its values here, from when each field was given; the
values of the other two are encoded once for every cutoff by
:func:`intent_model.events.features.compute_features`, which holds the leads table, and
said back here in the table's own words.
"""

from __future__ import annotations

import numpy as np

from intent_model.events.families.base import FeatureFamily, Meaning, Quote, Said
from intent_model.words import number


class Information(FeatureFamily):
    """Each profile field given or not, how many, and a corporate or free e-mail."""

    name = "information"

    def meanings(self, spec) -> dict[str, Meaning]:
        if not spec.profile_fields:
            return {}
        found = {
            f"has_{f}": self.meaning(f"has_{f}", (f"has_{f}",), what=f) for f in spec.profile_fields
        }
        for name in ("n_fields_provided", "share_fields_provided"):
            found[name] = self.meaning("fields_provided", (name,))
        if "email" in spec.profile_fields:
            found["email_is_corporate"] = self.meaning(
                "email_is_corporate", ("email_is_corporate",), what="email"
            )
        return found

    def say(self, feature, meaning, values, spec) -> Said:
        (value,) = values
        n_fields = len(spec.profile_fields)
        if feature.startswith("has_"):
            field = meaning.what.replace("_", " ")
            given = value >= 1
            text = f"{field} given" if given else f"no {field} given"
            return Said(text, (Quote("given", meaning.what, value=float(given), shown=text),))
        if feature == "email_is_corporate":
            if value != value:
                return Said("no e-mail address given", (Quote("corporate_email", "email"),))
            text = (
                "corporate e-mail address"
                if value >= 1
                else "free e-mail address (gmail, yahoo, ...)"
            )
            return Said(text, (Quote("corporate_email", "email", value=value, shown=text),))
        count = value if feature == "n_fields_provided" else round(value * n_fields)
        return Said(
            f"{number(count)} of {n_fields} profile fields given",
            (Quote("fields_given", value=count),),
        )

    def compute(self, before, profile, spec, cutoff: int, n_leads: int, so_far: dict) -> dict:
        """From when each field was given (``profile.given_at``), not from the events."""
        if not spec.profile_fields:
            return {}
        has = profile.given_at < cutoff
        features = {f"has_{f}": has[:, j].astype(float) for j, f in enumerate(spec.profile_fields)}
        n_given = has.sum(axis=1).astype(float)
        features["n_fields_provided"] = n_given
        features["share_fields_provided"] = n_given / len(spec.profile_fields)
        if "email" in spec.profile_fields:
            has_email = has[:, spec.profile_fields.index("email")]
            features["email_is_corporate"] = np.where(has_email, profile.corporate_email, np.nan)
        return features


class TableValues(FeatureFamily):
    """Values of leads-table columns, said in the table's own words: the profile fields'
    values (``profile``) or the table's other columns (``lead_table``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _table(self, spec):
        return spec.profile_spec if self.name == "profile" else spec.table_spec()

    def meanings(self, spec) -> dict[str, Meaning]:
        columns = spec.profile_columns if self.name == "profile" else spec.table_columns
        if not columns:
            return {}
        table = self._table(spec)
        return {
            feature: self.meaning(f"table:{table.source_of(feature)}", (feature,))
            for feature in table.feature_names
        }

    def say(self, feature, meaning, values, spec) -> Said:
        (value,) = values
        text = spec.columns_spec.describe_value(feature, value)
        return Said(text, (Quote("value", feature, value=value, shown=text),))
