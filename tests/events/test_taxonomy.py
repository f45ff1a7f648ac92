"""The event taxonomy: normalisation, aliases, user overrides and the unknown-type report."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from intent_model.errors import ConfigError
from intent_model.events.log import load_events
from intent_model.events.taxonomy import load_taxonomy, normalize_event_type
from intent_model.io.config import TaxonomyConfig


@pytest.mark.parametrize(
    "spelling", ["demo_request", "Demo Request", "demo-request", "DemoRequest", " DEMO  REQUEST "]
)
def test_spellings_of_one_event_type_normalise_to_one_name(spelling):
    assert normalize_event_type(spelling) == "demo_request"


@given(st.text(max_size=40))
def test_normalisation_is_idempotent(name):
    once = normalize_event_type(name)
    assert normalize_event_type(once) == once


def test_default_taxonomy_follows_the_design_table():
    taxonomy = load_taxonomy()
    for hard in ["purchase", "demo_request", "free_trial_signup", "sales_call", "renewal"]:
        assert taxonomy.class_of(hard) == "hard"
    for soft in [
        "newsletter_signup",
        "whitepaper_download",
        "webinar_registration",
        "social_share",
    ]:
        assert taxonomy.class_of(soft) == "soft"
    for engagement in ["page_view", "pricing_page_view", "email_click", "add_to_cart"]:
        assert taxonomy.class_of(engagement) == "engagement"


def test_aliases_map_other_spellings_onto_the_canonical_type():
    taxonomy = load_taxonomy()
    assert taxonomy.canonical("Demo Requested") == "demo_request"
    assert taxonomy.canonical("Contact Us Form") == "contact_form_submit"


def test_user_override_moves_a_type_and_adds_new_ones(tmp_path):
    (tmp_path / "t.toml").write_text(
        'hard = ["book_meeting"]\nsoft = ["free_trial_signup"]\n'
        '[aliases]\n"Meeting Booked" = "book_meeting"\n'
    )
    taxonomy = load_taxonomy(tmp_path / "t.toml")
    assert taxonomy.class_of("Meeting Booked") == "hard"
    assert taxonomy.class_of("free trial signup") == "soft"
    assert taxonomy.class_of("demo_request") == "hard"  # the rest of the default stays


def test_replace_defaults_starts_from_nothing():
    taxonomy = load_taxonomy(TaxonomyConfig(hard=("order",), replace_defaults=True))
    assert taxonomy.class_of("order") == "hard"
    assert not taxonomy.is_known("demo_request")


def test_a_type_in_two_classes_of_one_file_is_an_error():
    with pytest.raises(ConfigError, match="both hard and soft"):
        load_taxonomy(TaxonomyConfig(hard=("x",), soft=("X",)))


def test_alias_to_nothing_is_an_error():
    with pytest.raises(ConfigError, match="meeting -> book_meeting"):
        load_taxonomy(TaxonomyConfig(aliases={"meeting": "book_meeting"}))


def test_unknown_types_count_as_engagement_and_are_reported_with_rows(events_frame):
    log = load_events(events_frame)
    assert log.events["event_class"].tolist() == [
        "engagement",
        "soft",
        "hard",
        "engagement",
        "engagement",
        "engagement",
    ]
    assert log.events["event_type"].tolist()[2] == "demo_request"
    report = log.unknown_types
    assert report["event_type"].tolist() == ["mystery_event"]
    assert report["n_rows"].tolist() == [1]
    assert report["first_rows"].tolist() == [[5]]


def test_classify_keeps_the_index_and_every_row():
    values = pd.Series(["page view", "Purchase", "??"], index=[10, 20, 30])
    classified = load_taxonomy().classify(values)
    assert classified.index.tolist() == [10, 20, 30]
    assert classified["is_known"].tolist() == [True, True, False]
