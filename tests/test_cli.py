"""The command line: generate and validate end to end, one-line errors, quarantine files."""

from __future__ import annotations

import pandas as pd

from intent_model.cli import main


def test_generate_then_validate_accounts_for_every_row(tmp_path, capsys):
    assert (
        main(["generate", "--out", str(tmp_path), "--leads", "120", "--seed", "5", "--days", "90"])
        == 0
    )
    assert {p.name for p in tmp_path.iterdir()} == {
        "events.parquet",
        "leads.parquet",
        "truth.parquet",
    }
    code = main(
        [
            "validate",
            "--events",
            str(tmp_path / "events.parquet"),
            "--leads",
            str(tmp_path / "leads.parquet"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    n_events = len(pd.read_parquet(tmp_path / "events.parquet"))
    assert f"{n_events:,} rows read = {n_events:,} used + 0 quarantined" in out
    assert "chat_widget_open" in out and "Event mix by taxonomy class" in out


def test_bad_input_exits_non_zero_with_one_error_and_no_traceback(tmp_path, capsys):
    (tmp_path / "e.csv").write_text("lead_id,timestamp,event_type\na,not-a-date,page_view\n")
    assert main(["validate", "--events", str(tmp_path / "e.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert "line 2 ('not-a-date')" in err


def test_flags_map_columns_and_quarantine_writes_the_rejected_rows(tmp_path, capsys):
    (tmp_path / "e.csv").write_text(
        "visitorid,ts,event\n1,2024-01-01,page_view\n"
        ",2024-01-02,page_view\n2,2024-01-03,Demo Requested\n"
    )
    code = main(
        [
            "validate",
            "--events",
            str(tmp_path / "e.csv"),
            "--lead-id-col",
            "visitorid",
            "--timestamp-col",
            "ts",
            "--event-type-col",
            "event",
            "--on-bad-rows",
            "quarantine",
            "--quarantine-dir",
            str(tmp_path / "q"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "3 rows read = 2 used + 1 quarantined" in out
    rejected = pd.read_csv(tmp_path / "q" / "e.rejected.csv")
    assert rejected["_rejected_reason"].tolist() == ["is empty"]
    # The user's own column names, and the row as the error message would name it.
    assert rejected["_rejected_column"].tolist() == ["visitorid"]
    assert rejected["_rejected_row"].tolist() == ["line 3"]
    assert list(rejected.columns[4:]) == ["visitorid", "ts", "event"]


def test_a_bad_config_file_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "c.toml").write_text("[colums]\n")
    (tmp_path / "e.csv").write_text("lead_id,timestamp,event_type\na,2024-01-01,x\n")
    assert (
        main(
            ["validate", "--events", str(tmp_path / "e.csv"), "--config", str(tmp_path / "c.toml")]
        )
        == 2
    )
    assert "unknown key(s) colums" in capsys.readouterr().err


def test_predict_refuses_a_taxonomy_flag_instead_of_ignoring_it(tmp_path, capsys):
    (tmp_path / "e.csv").write_text("lead_id,timestamp,event_type\na,2024-01-01,x\n")
    (tmp_path / "t.toml").write_text('hard = ["x"]\n')
    code = main(
        [
            "predict",
            "--model",
            str(tmp_path),
            "--events",
            str(tmp_path / "e.csv"),
            "--taxonomy",
            str(tmp_path / "t.toml"),
            "--out",
            str(tmp_path / "s.csv"),
        ]
    )
    assert code == 2 and "uses the taxonomy each model was trained with" in capsys.readouterr().err


def test_generate_can_write_a_crm_export(tmp_path, capsys):
    args = ["generate", "--out", str(tmp_path), "--leads", "80", "--days", "60", "--crm"]
    assert main(args) == 0
    crm = pd.read_parquet(tmp_path / "crm_leads.parquet")
    assert len(crm) == 80 and "converted" in crm.columns


def test_validate_checks_a_crm_table_alone_with_its_label(tmp_path, capsys, small_demo):
    from intent_model import crm_export

    crm_export(small_demo).to_csv(tmp_path / "crm.csv", index=False)
    code = main(["validate", "--leads", str(tmp_path / "crm.csv"), "--label-col", "converted"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"{len(small_demo.leads):,} rows read" in out
    assert "Column roles" in out and "label 'converted':" in out
    assert main(["validate", "--leads", str(tmp_path / "crm.csv"), "--label-col", "nope"]) == 2
    assert "no label column 'nope'" in capsys.readouterr().err
