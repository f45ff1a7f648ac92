"""The input contract: timestamp forms, lead ids, and what bad rows do."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from intent_model.errors import InputError
from intent_model.io.config import ColumnMapping
from intent_model.io.validate import (
    check_events,
    check_leads,
    normalize_lead_ids,
    parse_timestamps,
)

NOON_UTC = pd.Timestamp("2024-05-01T12:00:00Z")


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T12:00:00Z",
        "2024-05-01T14:00:00+02:00",
        "2024-05-01T07:00:00-05:00",
        "2024-05-01 12:00:00",
        "2024-05-01T12:00:00.000",
        "1714564800",
        "1714564800000",
    ],
)
def test_timestamp_strings_in_every_contract_form_mean_the_same_instant(value):
    parsed, problems = parse_timestamps(pd.Series([value]), "timestamp")
    assert parsed.iloc[0] == NOON_UTC
    assert not any(p.rows.any() for p in problems)


def test_mixed_offsets_in_one_column_are_all_normalised_to_utc():
    values = pd.Series(["2024-05-01T12:00:00Z", "2024-05-01T14:00:00+02:00", "2024-05-01T12:00"])
    parsed, _ = parse_timestamps(values, "timestamp")
    assert str(parsed.dtype) == "datetime64[ns, UTC]"
    assert (parsed == NOON_UTC).all()


def test_epoch_seconds_and_milliseconds_as_numbers_are_told_apart():
    parsed, _ = parse_timestamps(pd.Series([1714564800, 1714564800000]), "timestamp")
    assert (parsed == NOON_UTC).all()


def test_naive_datetimes_are_utc_and_aware_ones_are_converted():
    naive = pd.Series(pd.to_datetime(["2024-05-01 12:00"]))
    aware = pd.Series(pd.to_datetime(["2024-05-01 14:00"]).tz_localize("Europe/Berlin"))
    assert parse_timestamps(naive, "t")[0].iloc[0] == NOON_UTC
    assert parse_timestamps(aware, "t")[0].iloc[0] == NOON_UTC


def test_unparseable_and_out_of_range_timestamps_are_problems_not_crashes():
    values = pd.Series(["yesterday", "1900-01-01", "3000-01-01", "", "2024-05-01"])
    parsed, problems = parse_timestamps(values, "timestamp")
    by_reason = {p.reason.split(" (")[0]: p.rows.tolist() for p in problems}
    assert by_reason["is empty"] == [False, False, False, True, False]
    assert by_reason["cannot be parsed as a timestamp"] == [True, False, False, False, False]
    assert by_reason["is out of range"] == [False, True, True, False, False]
    assert parsed.isna().tolist() == [True, True, True, True, False]


@given(st.lists(st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.none())))
def test_parse_timestamps_never_raises_on_any_values(values):
    parsed, problems = parse_timestamps(pd.Series(values, dtype=object), "timestamp")
    flagged = np.zeros(len(values), dtype=bool)
    for problem in problems:
        flagged |= problem.rows
    # Every value is either a valid timestamp or a flagged problem, never both.
    assert (parsed.isna().to_numpy() == flagged).all()


@given(st.datetimes(min_value=dt.datetime(1990, 1, 2), max_value=dt.datetime(2099, 12, 30)))
def test_epoch_seconds_milliseconds_and_iso_agree(moment):
    instant = pd.Timestamp(moment.replace(microsecond=0), tz="UTC")
    seconds = instant.value // 10**9
    values = pd.Series([instant.isoformat(), str(seconds), str(seconds * 1000)])
    parsed, _ = parse_timestamps(values, "timestamp")
    if seconds * 1000 < 1e11:  # before March 1973 milliseconds read as seconds by design
        return
    assert (parsed == instant).all()


def test_lead_ids_become_strings_without_float_noise():
    ids, problem = normalize_lead_ids(pd.Series([12.0, np.nan, 7.0]))
    assert ids.tolist() == ["12", None, "7"]
    assert problem.rows.tolist() == [False, True, False]
    ids, _ = normalize_lead_ids(pd.Series([" 007 ", "x1", ""], dtype=object))
    assert ids.tolist() == ["007", "x1", None]


def test_missing_required_column_names_the_users_column_and_the_flag():
    raw = pd.DataFrame({"visitor": ["a"], "ts": ["2024-01-01"], "event": ["page_view"]})
    mapping = ColumnMapping(lead_id="visitorid", timestamp="ts", event_type="event")
    with pytest.raises(InputError) as error:
        check_events(
            raw.rename(columns={"ts": "timestamp", "event": "event_type"}), "e.csv", mapping
        )
    message = str(error.value)
    assert "e.csv" in message and "'visitorid' (our 'lead_id')" in message
    assert "--lead-id-col" in message and "'visitor'" in message


def test_bad_rows_error_names_file_column_count_and_first_lines(events_frame):
    raw = events_frame.assign(timestamp=["bad", "2024-03-01", "worse", "2024-03-01", "", "x"])
    with pytest.raises(InputError) as error:
        check_events(raw, "events.csv")
    message = str(error.value)
    assert "events.csv" in message
    assert "column 'timestamp' cannot be parsed as a timestamp in 3 row(s)" in message
    assert "line 2 ('bad')" in message and "line 4 ('worse')" in message
    assert "column 'timestamp' is empty in 1 row(s): line 6" in message
    assert "--on-bad-rows quarantine" in message


def test_quarantine_sets_bad_rows_aside_with_reasons_and_accounts_for_every_row(events_frame):
    raw = events_frame.assign(
        lead_id=["a", None, "a", "b", " ", "b"],
        timestamp=["2024-03-01", "2024-03-01", "nope", "2024-03-01", "2024-03-01", "2024-03-01"],
    )
    checked = check_events(raw, "events.parquet", on_bad_rows="quarantine")
    assert checked.n_read == 6 and checked.n_used == 3 and checked.n_rejected == 3
    assert checked.n_used + checked.n_rejected == checked.n_read
    assert checked.rejected["_rejected_row"].tolist() == ["row 1", "row 2", "row 4"]
    assert checked.rejected["_rejected_reason"].tolist() == [
        "is empty",
        "cannot be parsed as a timestamp",
        "is empty",
    ]
    assert checked.rejected["_rejected_column"].tolist() == ["lead_id", "timestamp", "lead_id"]
    assert checked.frame.index.tolist() == [0, 3, 5]
    assert "6 rows read = 3 used + 3 quarantined" in checked.accounting()


def test_missing_channel_becomes_unknown_not_dropped(events_frame):
    checked = check_events(events_frame, "e.csv")
    assert checked.frame["channel"].tolist()[-1] == "unknown"
    assert checked.n_used == len(events_frame)


def test_duplicate_lead_ids_in_leads_are_refused_everywhere_they_appear():
    raw = pd.DataFrame({"lead_id": ["a", "b", "a", "c"], "phone": ["1", None, "2", "3"]})
    with pytest.raises(
        InputError, match=r"'lead_id' is duplicated in 2 row\(s\): line 2 \('a'\), line 4"
    ):
        check_leads(raw, "leads.csv")
    checked = check_leads(raw, "leads.csv", on_bad_rows="quarantine")
    assert checked.frame["lead_id"].tolist() == ["b", "c"]
    assert checked.rejected["_rejected_reason"].tolist() == ["is duplicated", "is duplicated"]


def test_lead_time_columns_are_parsed_and_may_be_empty():
    raw = pd.DataFrame(
        {
            "lead_id": [1, 2],
            "created_at": ["2024-01-01", None],
            "phone_provided_at": [None, "2024-02-01T00:00:00+01:00"],
        }
    )
    frame = check_leads(raw, "leads.csv").frame
    assert frame["lead_id"].tolist() == ["1", "2"]
    assert frame["created_at"].isna().tolist() == [False, True]
    assert frame["phone_provided_at"].iloc[1] == pd.Timestamp("2024-01-31T23:00:00Z")


def test_header_only_table_is_an_error():
    with pytest.raises(InputError, match="header but no rows"):
        check_events(pd.DataFrame(columns=["lead_id", "timestamp", "event_type"]), "e.csv")


def test_a_filtered_frame_keeps_every_row_and_its_values():
    from intent_model.events.log import load_events

    frame = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "timestamp": ["2024-01-01"] * 3,
            "event_type": [" Demo Requested ", "page_view", "purchase"],
            "channel": [" web", "email", None],
        },
        index=[10, 20, 30],  # what a user's filter of a larger frame leaves
    )
    events = load_events(frame).events
    assert events["event_type"].tolist() == ["demo_request", "page_view", "purchase"]
    assert events["channel"].tolist() == ["web", "email", "unknown"]
