"""Reading real files: formats, column mapping, atomic writes, config checks."""

from __future__ import annotations

import pandas as pd
import pytest

from intent_model.errors import ConfigError, InputError
from intent_model.events.log import load_events
from intent_model.io.config import ColumnMapping, config_from_dict, load_config
from intent_model.io.files import atomic_path, read_table, write_table
from intent_model.io.load import load_leads


def test_csv_and_parquet_read_the_same_events(tmp_path, events_frame):
    events_frame.to_csv(tmp_path / "e.csv", index=False)
    events_frame.to_parquet(tmp_path / "e.parquet")
    from_csv = load_events(tmp_path / "e.csv").events
    from_parquet = load_events(tmp_path / "e.parquet").events
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_categorical=False)
    assert from_csv["timestamp"].iloc[1] == pd.Timestamp("2024-03-02T07:00:00Z")


def test_csv_lead_ids_keep_leading_zeros(tmp_path):
    (tmp_path / "e.csv").write_text("lead_id,timestamp,event_type\n007,2024-01-01,page_view\n")
    assert load_events(tmp_path / "e.csv").events["lead_id"].tolist() == ["007"]


def test_integer_lead_ids_in_parquet_become_strings(tmp_path):
    frame = pd.DataFrame(
        {"lead_id": [5, 6], "timestamp": [1714564800, 1714564801], "event_type": "x"}
    )
    frame.to_parquet(tmp_path / "e.parquet")
    assert load_events(tmp_path / "e.parquet").events["lead_id"].tolist() == ["5", "6"]


def test_column_mapping_from_a_config_file(tmp_path, events_frame):
    events_frame.rename(columns={"lead_id": "visitorid", "timestamp": "ts"}).to_csv(
        tmp_path / "e.csv", index=False
    )
    (tmp_path / "c.toml").write_text('[columns]\nlead_id = "visitorid"\ntimestamp = "ts"\n')
    config = load_config(tmp_path / "c.toml")
    events = load_events(tmp_path / "e.csv", config).events
    assert events["lead_id"].tolist() == ["a", "a", "a", "b", "b", "b"]


def test_mapping_onto_a_name_the_file_already_has_is_refused(tmp_path):
    frame = pd.DataFrame(
        {"visitorid": [1], "lead_id": [2], "timestamp": ["2024-01-01"], "event_type": ["x"]}
    )
    frame.to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(InputError, match="lead_id exist in the file and are also mapped"):
        read_table(tmp_path / "e.csv", ColumnMapping(lead_id="visitorid"))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("e.json", b"x", "unknown file type"),
        ("e.xlsx", b"x", "cannot read as excel"),
        ("e.csv", b"", "the file is empty"),
        ("e.parquet", b"", "the file is empty"),
        ("e.parquet", b"not parquet at all", "cannot read as parquet"),
        ("e.csv", b"lead_id,timestamp,event_type\n", "header but no rows"),
        ("e.csv", b'lead_id,timestamp,event_type\na,"2024-01-01,page_view\n', "cannot read as csv"),
    ],
)
def test_unreadable_files_give_one_clear_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as error:
        load_events(path)
    assert str(path) in str(error.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_leads(tmp_path / "nope.csv")


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "scores.csv"
    write_table(pd.DataFrame({"a": [1]}), target)
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("crash mid-write")
    assert pd.read_csv(target)["a"].tolist() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


def test_config_rejects_unknown_keys_and_wrong_types(tmp_path):
    (tmp_path / "a.toml").write_text('[columns]\nlead_idd = "x"\n')
    with pytest.raises(ConfigError, match=r"unknown key\(s\) columns.lead_idd in \[columns\]"):
        load_config(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text('[input]\non_bad_rows = "skip"\n')
    with pytest.raises(ConfigError, match="on_bad_rows = 'skip' is not allowed"):
        load_config(tmp_path / "b.toml")
    (tmp_path / "c.toml").write_text('[taxonomy]\nhard = "demo"\n')
    with pytest.raises(ConfigError, match="taxonomy.hard must be a list"):
        load_config(tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text("[columns\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "d.toml")


def test_config_loads_every_section(tmp_path):
    (tmp_path / "c.toml").write_text(
        '[columns]\nevent_type = "event"\n[input]\non_bad_rows = "quarantine"\n'
        '[taxonomy]\nhard = ["book_meeting"]\n'
        '[taxonomy.aliases]\n"Meeting Booked" = "book_meeting"\n'
    )
    config = load_config(tmp_path / "c.toml")
    assert config.columns.event_type == "event" and config.columns.lead_id == "lead_id"
    assert config.input.on_bad_rows == "quarantine"
    assert config.taxonomy.hard == ("book_meeting",)
    assert config.taxonomy.aliases == {"Meeting Booked": "book_meeting"}


def test_written_files_get_ordinary_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = write_table(pd.DataFrame({"a": [1]}), tmp_path / "scores.csv")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_renamed_keys_still_load_with_a_warning_naming_the_new_one(tmp_path):
    path = tmp_path / "intent.toml"
    path.write_text(
        "[guards]\nleakage_auc = 0.93\n[table]\nleakage_auc = 0.85\nleak_warning_auc = 0.99\n"
    )
    with pytest.warns(FutureWarning, match=r"\[table\] leak_warning_auc is now called model_"):
        config = load_config(path)
    assert config.guards.feature_alarm_auc == 0.93
    assert config.table.column_flag_auc == 0.85
    assert config.table.model_warning_auc == 0.99
    # A model trained before the rename keeps its settings when its metadata is read.
    assert config_from_dict({"table": {"leakage_auc": 0.8}}).table.column_flag_auc == 0.8


def test_the_folds_and_experiments_of_two_sections_are_named_apart(tmp_path):
    path = tmp_path / "intent.toml"
    path.write_text(
        '[training]\ncv_folds = 4\nexperiment = "ev"\n[table]\ncv_folds = 7\nexperiment = "tb"\n'
    )
    with pytest.warns(FutureWarning, match=r"\[training\] cv_folds is now called selection_folds"):
        config = load_config(path)
    assert (config.training.selection_folds, config.table.evaluation_folds) == (4, 7)
    assert (config.training.event_experiment, config.table.table_experiment) == ("ev", "tb")
