"""Hostile and messy inputs, crashes, reproducibility and drift.

Each bad input is a real file; through the CLI it gives exit code 2 and one
message naming the file (no traceback), or a documented, counted handling.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intent_model.cli import main
from intent_model.errors import IntentModelError, ModelError
from intent_model.events.log import load_events
from intent_model.io.config import Config, InputConfig
from intent_model.io.load import load_leads
from intent_model.modeling.bundle import load_bundle, sha256_of
from intent_model.modeling.drift import DriftWarning
from intent_model.scoring.predict import predict

HEADER = "lead_id,timestamp,event_type\n"

BAD_EVENT_FILES = {
    "truncated mid-row": (HEADER + "a,2024-01-01,page_view\nb,2024-0", "line 3"),
    "truncated inside quotes": (HEADER + 'a,"2024-01-01,page_view\n', "cannot read as csv"),
    "two delimiters, neither consistent": (
        "lead_id;timestamp;event_type,channel\na,2024-01-01,page_view;web\n"
        "b,2024-01-01,page_view;web\n",
        "cannot tell how the columns are separated",
    ),
    "missing column": ("lead_id,timestamp\na,2024-01-01\n", "no column 'event_type'"),
    "year 1900": (HEADER + "a,1900-01-01,page_view\n", "out of range"),
    "year 3000": (HEADER + "a,3000-01-01,page_view\n", "out of range"),
    "unparseable time": (HEADER + "a,yesterday,page_view\n", "cannot be parsed"),
    "null lead id": (HEADER + ",2024-01-01,page_view\n", "'lead_id' is empty"),
    "blank lead id": (HEADER + "  ,2024-01-01,page_view\n", "'lead_id' is empty"),
    "empty event type": (HEADER + "a,2024-01-01,\n", "'event_type' is empty"),
    "header only": (HEADER, "header but no rows"),
    "zero bytes": ("", "the file is empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_EVENT_FILES))
def test_bad_event_files_give_one_clear_error(case, tmp_path, capsys):
    content, expected = BAD_EVENT_FILES[case]
    path = tmp_path / "events.csv"
    path.write_text(content)
    assert main(["validate", "--events", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert str(path) in err and expected in err


def test_zero_byte_parquet_and_duplicate_lead_ids_are_named(tmp_path, capsys):
    (tmp_path / "e.parquet").write_bytes(b"")
    assert main(["validate", "--events", str(tmp_path / "e.parquet")]) == 2
    assert "the file is empty" in capsys.readouterr().err
    (tmp_path / "e.csv").write_text(HEADER + "a,2024-01-01,page_view\n")
    (tmp_path / "l.csv").write_text("lead_id,phone\na,1\na,2\n")
    code = main(
        ["validate", "--events", str(tmp_path / "e.csv"), "--leads", str(tmp_path / "l.csv")]
    )
    assert code == 2 and "'lead_id' is duplicated in 2 row(s)" in capsys.readouterr().err


def test_a_config_with_a_wrong_type_is_one_error(tmp_path, capsys):
    (tmp_path / "e.csv").write_text(HEADER + "a,2024-01-01,page_view\n")
    (tmp_path / "c.toml").write_text("[features]\nwindows_days = 7\n")
    code = main(
        ["validate", "--events", str(tmp_path / "e.csv"), "--config", str(tmp_path / "c.toml")]
    )
    assert code == 2 and "features.windows_days must be a list" in capsys.readouterr().err


def test_messy_but_valid_files_are_used_whole(tmp_path, capsys):
    long_id = "L" * 1000
    rows = [
        ("7", "2024-01-01T10:00:00Z", "page_view", "x"),  # extra column carried along
        ("8", "1704103200", "Page View", "y"),  # epoch seconds beside ISO strings
        ("9", "2024-01-01T12:00:00+05:30", "Démo Requested", "z"),  # unicode, other zone
        (long_id, "2024-01-01 10:00", "デモ依頼", "w"),  # huge id, unknown non-Latin type
        ("1208925819614629174706176", "2024-01-02", "x" * 5000, "v"),  # 2**80 and a long name
        ("7", "2024-01-01T10:00:00Z", "page_view", "x"),  # exact duplicate
    ]
    frame = pd.DataFrame(rows, columns=["lead_id", "timestamp", "event_type", "note"])
    frame.to_csv(tmp_path / "e.csv", index=False)
    assert main(["validate", "--events", str(tmp_path / "e.csv")]) == 0
    out = capsys.readouterr().out
    assert "6 rows read = 6 used + 0 quarantined" in out
    assert "1 duplicated events" in out and "デモ依頼" in out
    events = load_events(tmp_path / "e.csv").events
    assert set(events["lead_id"]) == {"7", "8", "9", long_id, "1208925819614629174706176"}
    assert events["timestamp"].iloc[2] == pd.Timestamp("2024-01-01T06:30:00Z")


def _unloadable_bundle(source: Path, target: Path) -> Path:
    """A bundle whose model file holds a type of a module that no longer exists (another
    version)."""
    import shutil

    import skops.io

    shutil.copytree(source, target)
    module = types.ModuleType("intent_model_v0_legacy")

    class Legacy:
        pass

    Legacy.__module__ = module.__name__
    Legacy.__qualname__ = "Legacy"
    module.Legacy = Legacy
    sys.modules[module.__name__] = module
    try:
        skops.io.dump(Legacy(), target / "model.skops")
    finally:
        del sys.modules[module.__name__]
    metadata = json.loads((target / "metadata.json").read_text())
    metadata["model_sha256"] = sha256_of(target / "model.skops")
    metadata["intent_model_version"] = "0.0.1"
    (target / "metadata.json").write_text(json.dumps(metadata))
    return target


def test_a_model_from_another_version_or_with_a_missing_file_is_refused(trained, tmp_path, capsys):
    bundle = _unloadable_bundle(trained[1] / "models" / "first", tmp_path / "old")
    with pytest.raises(ModelError, match="intent_model_v0_legacy.Legacy.*intent_model 0.0.1"):
        load_bundle(bundle)
    (bundle / "metadata.json").unlink()
    (tmp_path / "e.csv").write_text(HEADER + "a,2024-01-01,page_view\n")
    code = main(
        [
            "predict",
            "--model",
            str(bundle),
            "--events",
            str(tmp_path / "e.csv"),
            "--out",
            str(tmp_path / "s.csv"),
        ]
    )
    assert code == 2 and "not a model bundle (no metadata.json)" in capsys.readouterr().err


def test_events_after_as_of_and_duplicates_are_counted_not_used(trained, small_demo):
    as_of = small_demo.start + pd.Timedelta(days=250)
    events = pd.concat([small_demo.events, small_demo.events.iloc[:10]], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = predict(trained[1] / "models" / "first", events, small_demo.leads, as_of=as_of)
    later = int((events["timestamp"] >= as_of).sum())
    assert result.n_events_at_or_after_as_of == later > 0
    assert result.n_duplicate_events >= 10
    assert "events at or after as_of were not used" in result.summary()


text_values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["2024-01-01", "2024-01-01T00:00:00+02:00", "1714564800000", "", " ", "NaT"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.tuples(text_values, text_values, text_values), min_size=1, max_size=15),
    kind=st.sampled_from(["csv", "parquet"]),
    policy=st.sampled_from(["error", "quarantine"]),
)
def test_readers_raise_only_our_errors_and_account_for_every_row(rows, kind, policy, tmp_path):
    frame = pd.DataFrame(rows, columns=["lead_id", "timestamp", "event_type"])
    path = tmp_path / f"events.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    config = Config(input=InputConfig(on_bad_rows=policy))
    try:
        log = load_events(path, config)
        leads = load_leads(path, config)
    except IntentModelError:
        return
    for checked in (log.checked, leads):
        assert checked.n_used + checked.n_rejected == checked.n_read
        # pandas writes a lone carriage return unquoted, which any CSV reader
        # takes as a line break; Parquet keeps the rows exactly.
        if kind == "parquet":
            assert checked.n_read == len(frame)


def _kill_run_after(command: list[str], seconds: float) -> int:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    process.kill()
    return process.wait()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_killing_predict_at_any_point_leaves_the_old_or_the_new_scores(
    trained, small_demo, tmp_path
):
    small_demo.events.to_parquet(tmp_path / "events.parquet")
    small_demo.leads.to_parquet(tmp_path / "leads.parquet")
    out = tmp_path / "scores.parquet"
    command = [
        sys.executable,
        "-m",
        "intent_model.cli",
        "predict",
        "--model",
        str(trained[1] / "models" / "first"),
        "--events",
        str(tmp_path / "events.parquet"),
        "--leads",
        str(tmp_path / "leads.parquet"),
        "--out",
        str(out),
    ]
    out.write_bytes(b"old scores")
    old = _digest(out)
    for seconds in (0.5, 2.0, 3.5, 5.0, 6.5):
        _kill_run_after(command, seconds)
        if _digest(out) != old:
            scores = pd.read_parquet(out)  # a new file must be whole
            assert len(scores) == len(small_demo.leads)
            old = _digest(out)
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert len(pd.read_parquet(out)) == len(small_demo.leads)
    assert not list(tmp_path.glob(".scores.parquet.*")), "a finished run leaves no temporary file"


def test_killing_train_at_any_point_leaves_a_whole_bundle_or_none(small_demo, tmp_path):
    small_demo.events.to_parquet(tmp_path / "events.parquet")
    small_demo.leads.to_parquet(tmp_path / "leads.parquet")
    (tmp_path / "c.toml").write_text(
        "[guards]\nmin_positives = 20\nmin_negatives = 50\n[training]\nholdout_cutoffs = 2\n"
    )
    bundle = tmp_path / "models" / "m"
    command = [
        sys.executable,
        "-m",
        "intent_model.cli",
        "train",
        "--no-track",
        "--config",
        str(tmp_path / "c.toml"),
        "--events",
        str(tmp_path / "events.parquet"),
        "--leads",
        str(tmp_path / "leads.parquet"),
        "--out",
        str(bundle),
    ]
    for seconds in (2.0, 5.0, 8.0, 11.0):
        _kill_run_after(command, seconds)
        if bundle.exists():
            load_bundle(bundle)  # whole: metadata, and a model matching its checksum
    assert subprocess.run(command, capture_output=True).returncode == 0
    load_bundle(bundle)
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["m"]


def test_same_data_config_and_seed_give_identical_predictions(small_demo, tmp_path):
    from intent_model.training.train import train
    from tests.conftest import training_config

    config = training_config("unused")
    scores = []
    for name in ("a", "b"):
        train(small_demo.events, small_demo.leads, tmp_path / name, config, track=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores.append(predict(tmp_path / name, small_demo.events, small_demo.leads).scores)
    pd.testing.assert_series_equal(scores[0]["p_hard"], scores[1]["p_hard"])
    assert scores[0]["top_reasons"].equals(scores[1]["top_reasons"])


def test_drift_is_reported_and_warned_past_the_threshold(trained, small_demo):
    metadata = json.loads((trained[1] / "models" / "first" / "metadata.json").read_text())
    assert "score" in metadata["drift_reference"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same = predict(trained[1] / "models" / "first", small_demo.events, small_demo.leads)
    assert set(same.drift["what"]) >= {"counts", "recency", "score (p_hard)"}
    # The training data itself, scored, has not shifted from itself.
    assert (same.drift["psi"] < 0.01).all(), same.drift
    assert (same.drift["verdict"] == "stable").all()
    # A tracker that stopped recording pricing and e-mail events: the counts shift.
    broken = small_demo.events[
        ~small_demo.events["event_type"].astype(str).isin(["page_view", "email_open"])
    ]
    with pytest.warns(DriftWarning, match="significant drift"):
        shifted = predict(trained[1] / "models" / "first", broken, small_demo.leads)
    counts = shifted.drift.set_index("what").loc["counts", "worst_psi"]
    assert counts > same.drift.set_index("what").loc["counts", "worst_psi"]
    assert np.isfinite(shifted.drift["psi"]).all()
