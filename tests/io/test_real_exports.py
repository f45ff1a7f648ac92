"""Exports as other tools write them: any column names, CSV dialects, encodings, Excel, id types."""

from __future__ import annotations

import copy
import csv
import dataclasses
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from intent_model import load_events, load_leads, predict, train
from intent_model.cli import main
from intent_model.errors import InputError
from intent_model.io.config import (
    DEFAULT_PROFILE_FIELDS,
    ColumnMapping,
    Config,
    GuardConfig,
    TrainingConfig,
)
from intent_model.io.dialect import detect_dialect
from intent_model.io.files import read_user_table
from intent_model.names import (
    EVENT_COLUMNS,
    INTERNAL_COLUMNS,
    OUTPUT_COLUMNS,
    QUARANTINE_COLUMNS,
    unclaimed,
)
from intent_model.simulate.funnel import simulate_funnel

# --- names that cannot collide ------------------------------------------------

EVENT_INPUTS = {"lead_id", "timestamp", "event_type", "channel"}
LEAD_INPUTS = {"lead_id", "created_at", *DEFAULT_PROFILE_FIELDS}
ODD_NAMES = ["Source", "SOURCE", "lead id", "a.b", "Müller", "p hard", "x" * 60, "1", "_"]


def _usable(name: str, inputs: set[str]) -> bool:
    return name not in inputs and not name.endswith("_provided_at") and name.strip() == name


extra_names = st.lists(
    st.text(alphabet=string.ascii_letters + " ._-äöüßé", min_size=1, max_size=10),
    max_size=4,
    unique=True,
)


@pytest.fixture(scope="module")
def funnel():
    return simulate_funnel(n_leads=260, seed=5, n_days=210)


def _with_extra_columns(frame: pd.DataFrame, names: list[str], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    extra = {name: rng.choice(["x", "y", "z", ""], len(frame)) for name in names}
    return pd.concat([frame.reset_index(drop=True), pd.DataFrame(extra)], axis=1)


def test_the_internal_names_cover_every_column_we_add():
    assert set(QUARANTINE_COLUMNS) <= set(INTERNAL_COLUMNS)
    assert set(EVENT_COLUMNS) <= set(INTERNAL_COLUMNS)
    assert {"source", "reason", "column", "label", "p_hard", "rank", "tier"} <= set(
        INTERNAL_COLUMNS
    )


@settings(
    max_examples=3,
    deadline=None,
    # Each example trains a model: shrinking a failure would train hundreds more.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(random_names=extra_names, seed=st.integers(0, 1000))
def test_user_columns_named_like_ours_never_crash_or_get_overwritten(
    funnel, tmp_path_factory, random_names, seed
):
    tmp = tmp_path_factory.mktemp("names")
    events_extra = [n for n in [*INTERNAL_COLUMNS, *ODD_NAMES] if _usable(n, EVENT_INPUTS)]
    events_extra += [n for n in random_names if _usable(n, EVENT_INPUTS) and n not in events_extra]
    leads_extra = [n for n in [*INTERNAL_COLUMNS, *ODD_NAMES] if _usable(n, LEAD_INPUTS)]
    leads_extra += [n for n in random_names if _usable(n, LEAD_INPUTS) and n not in leads_extra]
    demo = copy.deepcopy(funnel)
    events = _with_extra_columns(demo.events, events_extra, seed)
    events["timestamp"] = events["timestamp"].astype(str)
    events.loc[[3, 10], "timestamp"] = "not a time"
    leads = _with_extra_columns(demo.leads, leads_extra, seed + 1)
    events.to_csv(tmp / "events.csv", index=False)
    leads.to_parquet(tmp / "leads.parquet")
    config = Config(
        guards=GuardConfig(min_positives=5, min_negatives=20),
        training=TrainingConfig(holdout_cutoffs=2),
    )
    config = config.replace(
        input=dataclasses.replace(
            config.input, on_bad_rows="quarantine", quarantine_dir=str(tmp / "q")
        )
    )

    log = load_events(tmp / "events.csv", config)
    assert list(log.events.columns) == ["lead_id", "timestamp", "event_type", "channel"] + [
        "event_class"
    ]
    assert log.checked.n_used + log.checked.n_rejected == len(events)

    result = train(tmp / "events.csv", tmp / "leads.parquet", tmp / "model", config, track=False)
    rejected = pd.read_csv(tmp / "q" / "events.rejected.csv", dtype=str, keep_default_na=False)
    # Every user column comes back under its own name, values unchanged; ours come first.
    assert list(rejected.columns[4:]) == [str(c) for c in events.columns]
    ours = [unclaimed(name, events.columns) for name in QUARANTINE_COLUMNS]
    assert list(rejected.columns[:4]) == ours and not set(ours) & set(events.columns)
    assert rejected[ours[1]].tolist() == ["line 5", "line 12"]
    expected = events.loc[[3, 10]].astype(str).replace("", "").reset_index(drop=True)
    pd.testing.assert_frame_equal(
        rejected.iloc[:, 4:], expected, check_dtype=False, check_names=False
    )

    scores = predict(
        result.bundle_dir,
        tmp / "events.csv",
        tmp / "leads.parquet",
        tmp / "s.parquet",
        config=config,
    ).scores
    written = pd.read_parquet(tmp / "s.parquet")
    assert list(written.columns) == list(OUTPUT_COLUMNS)
    every_lead = set(log.events["lead_id"]) | set(leads["lead_id"].astype(str))
    assert set(written["lead_id"]) == every_lead and written["lead_id"].is_unique
    assert len(scores) == len(every_lead)


def test_a_streamed_parquet_log_quarantines_rows_with_every_user_column(tmp_path):
    events = pd.DataFrame(
        {
            "visitor": np.arange(40) % 7,
            "ts": pd.date_range("2024-01-01", periods=40, freq="h").astype(str),
            "what": "page_view",
            "source": "newsletter",
            "reason": "x",
            "_rejected_row": "mine",
        }
    )
    events.loc[[4, 33], "ts"] = "garbage"
    events.to_parquet(tmp_path / "e.parquet")
    config = Config(columns=ColumnMapping(lead_id="visitor", timestamp="ts", event_type="what"))
    config = config.replace(
        input=dataclasses.replace(config.input, on_bad_rows="quarantine"),
        features=dataclasses.replace(config.features, chunk_events=10),
    )
    from intent_model.events.chunks import open_events

    chunks = open_events(tmp_path / "e.parquet", config, workdir=tmp_path / "work")
    assert chunks.n_chunks > 1  # streamed
    rejected = chunks.checked.rejected
    assert list(rejected.columns[4:]) == list(events.columns)
    assert "__rejected_row" in rejected.columns  # ours moved aside for the user's
    assert rejected["_rejected_row"].tolist() == ["mine", "mine"]
    assert rejected["__rejected_row"].tolist() == ["row 4", "row 33"]
    assert rejected["_rejected_column"].tolist() == ["ts", "ts"]


# --- dialects, encodings, Excel -------------------------------------------------

LEADS = pd.DataFrame(
    {
        "lead_id": [1001, 1002, 1003, 1004],
        "name": ["Müller", "Zoë Ødegård", "Ana", "Œuvre €"],
        "score": [0.5, 1.25, 3.0, 12.75],
        "created_at": ["2024-01-02", "2024-02-03", "2024-03-04", "2024-04-05"],
    }
)


def _write_excel_csv(path, frame, sep=";", encoding="cp1252", sep_line=False):
    """As Excel saves "CSV" in a European locale: semicolons, decimal commas, Windows-1252."""
    text = frame.to_csv(sep=sep, decimal=",", index=False)
    if sep_line:
        text = f"sep={sep}\n" + text
    path.write_bytes(text.encode(encoding))


@pytest.mark.parametrize(
    "name,write,told",
    [
        (
            "excel.csv",
            lambda p: _write_excel_csv(p, LEADS),
            ["delimiter ';' (detected)", "encoding cp1252", "decimal comma (detected)"],
        ),
        (
            "sepline.csv",
            lambda p: _write_excel_csv(p, LEADS, sep_line=True),
            ["delimiter ';' (sep= line)", "encoding cp1252"],
        ),
        (
            "tabs.tsv",
            lambda p: LEADS.to_csv(p, sep="\t", index=False),
            ["delimiter tab (detected)", "encoding UTF-8 (detected)"],
        ),
        (
            "pipes.csv",
            lambda p: LEADS.to_csv(p, sep="|", index=False),
            ["delimiter '|' (detected)"],
        ),
        (
            "bom.csv",
            lambda p: LEADS.to_csv(p, index=False, encoding="utf-8-sig"),
            ["delimiter ',' (detected)", "encoding UTF-8 with BOM (detected)"],
        ),
        (
            "unicode.txt",
            lambda p: LEADS.to_csv(p, sep="\t", index=False, encoding="utf-16"),
            ["delimiter tab (detected)", "UTF-16"],
        ),
        (
            "report.xlsx",
            lambda p: LEADS.assign(created_at=pd.to_datetime(LEADS["created_at"])).to_excel(
                p, index=False, sheet_name="Leads"
            ),
            ["read as Excel: sheet 'Leads' (the only one)"],
        ),
    ],
)
def test_each_way_tools_write_tables_reads_the_same_leads(tmp_path, name, write, told):
    path = tmp_path / name
    write(path)
    table = load_leads(path)
    for phrase in told:
        assert phrase in table.accounting()
    frame = table.frame
    assert frame["lead_id"].tolist() == ["1001", "1002", "1003", "1004"]
    assert frame["name"].tolist() == LEADS["name"].tolist()
    assert frame["score"].tolist() == LEADS["score"].tolist()
    assert frame["created_at"].dt.strftime("%Y-%m-%d").tolist() == LEADS["created_at"].tolist()


def test_bytes_past_the_first_block_that_are_not_utf8_switch_the_encoding(tmp_path):
    rows = [f"L{i},2024-01-01,page_view,plain" for i in range(30_000)]
    rows.append("L9,2024-01-01,page_view,Müller")
    text = "lead_id,timestamp,event_type,note\n" + "\n".join(rows) + "\n"
    (tmp_path / "e.csv").write_bytes(text.encode("cp1252"))
    read = read_user_table(tmp_path / "e.csv")
    assert read.frame["note"].iloc[-1] == "Müller"
    assert "encoding cp1252 (detected: bytes past the start are not utf-8-sig)" in read.how


def test_the_config_input_section_fixes_each_part_of_the_dialect(tmp_path):
    (tmp_path / "l.csv").write_bytes("lead_id|score\n1|0,5\n".encode("latin-1"))
    config = Config().replace(
        input=dataclasses.replace(Config().input, delimiter="|", encoding="latin-1", decimal=",")
    )
    table = load_leads(tmp_path / "l.csv", config)
    assert table.frame["score"].tolist() == [0.5]
    assert "delimiter '|' (set)" in table.accounting()
    assert "encoding latin-1 (set)" in table.accounting()


def test_an_excel_sheet_can_be_chosen_and_a_missing_one_is_named(tmp_path):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"note": ["cover"]}).to_excel(writer, sheet_name="About", index=False)
        LEADS.to_excel(writer, sheet_name="Leads", index=False)
    config = Config().replace(input=dataclasses.replace(Config().input, sheet="Leads"))
    assert load_leads(path, config).frame["lead_id"].tolist() == ["1001", "1002", "1003", "1004"]
    with pytest.raises(InputError, match="no column 'lead_id'"):
        load_leads(path)  # the first sheet is the cover
    wrong = Config().replace(input=dataclasses.replace(Config().input, sheet="Nope"))
    with pytest.raises(InputError, match=r"no sheet 'Nope'; the workbook has 'About', 'Leads'"):
        load_leads(path, wrong)


dialect_values = st.text(
    alphabet=string.ascii_letters + string.digits + " ,;|\t.-'\"äöüéÆ€", max_size=12
)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.lists(dialect_values, min_size=3, max_size=3), min_size=2, max_size=12),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_detected_dialects_read_back_what_was_written(tmp_path_factory, rows, delimiter, encoding):
    path = tmp_path_factory.mktemp("dialect") / "t.csv"
    header = ["lead_id", "first name", "note"]
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter, quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        writer.writerows(rows)
    dialect = detect_dialect(path)
    assert dialect.delimiter == delimiter
    frame = pd.read_csv(
        path,
        sep=dialect.delimiter,
        encoding=dialect.encoding,
        dtype=str,
        keep_default_na=False,
        skiprows=dialect.skip_rows,
    )
    assert list(frame.columns) == header
    assert frame.to_numpy().tolist() == rows


def test_ids_written_as_12_and_12_point_0_are_one_lead_in_csv_and_parquet(tmp_path):
    raw = pd.DataFrame(
        {
            "lead_id": ["12", "12.0", " 12 ", "7"],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
            "event_type": "page_view",
        }
    )
    raw.to_csv(tmp_path / "e.csv", index=False)
    raw.assign(lead_id=[12.0, 12.0, 12.0, 7.0]).to_parquet(tmp_path / "e.parquet")
    for name in ("e.csv", "e.parquet"):
        ids = load_events(tmp_path / name).events["lead_id"].astype(str)
        assert sorted(set(ids)) == ["12", "7"], name


def test_quarantine_row_numbers_are_the_lines_the_error_names(tmp_path, capsys):
    text = "lead_id,timestamp,event_type\na,2024-01-01,x\nb,nope,x\nc,2024-01-01,x\n,2024-01-01,x\n"
    (tmp_path / "e.csv").write_text(text)
    assert main(["validate", "--events", str(tmp_path / "e.csv")]) == 2
    message = capsys.readouterr().err
    assert "line 3 ('nope')" in message and "line 5 (empty)" in message
    code = main(
        [
            "validate",
            "--events",
            str(tmp_path / "e.csv"),
            "--on-bad-rows",
            "quarantine",
            "--quarantine-dir",
            str(tmp_path / "q"),
        ]
    )
    assert code == 0
    rejected = pd.read_csv(tmp_path / "q" / "e.rejected.csv")
    assert sorted(rejected["_rejected_row"]) == ["line 3", "line 5"]


def test_a_model_from_the_semicolon_export_scores_like_one_from_the_comma_export(tmp_path):
    from intent_model import crm_export

    demo = simulate_funnel(n_leads=600, seed=3, n_days=240)
    table = crm_export(demo)
    table.to_csv(tmp_path / "comma.csv", index=False)
    _write_excel_csv(tmp_path / "semicolon.csv", table, encoding="utf-8")
    scores = {}
    for name in ("comma", "semicolon"):
        result = train(
            leads=tmp_path / f"{name}.csv",
            label_col="converted",
            out=tmp_path / f"model-{name}",
            track=False,
        )
        scored = predict(result.bundle_dir, leads=tmp_path / f"{name}.csv").scores
        scores[name] = scored.set_index("lead_id")["p_hard"].sort_index()
    pd.testing.assert_series_equal(scores["comma"], scores["semicolon"], rtol=0, atol=0)
