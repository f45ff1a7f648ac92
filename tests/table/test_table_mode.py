"""CRM-table mode: training and scoring from one row per lead, without events.

The table is the demo funnel's CRM export: honest engagement and form columns,
placeholders in the form answers, and three planted columns sales wrote after
the outcome (sales_tag, lead_status, lead_quality).
"""

from __future__ import annotations

import json
import re
import string

import mlflow
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intent_model.cli import main
from intent_model.errors import ConfigError, InputError
from intent_model.io.config import Config, TableConfig, TrainingConfig, config_from_dict
from intent_model.scoring.loaded import load_model
from intent_model.scoring.predict import predict
from intent_model.simulate.crm import FORM_PLACEHOLDERS, PLANTED_COLUMNS, crm_export
from intent_model.simulate.funnel import simulate_funnel
from intent_model.table.checks import check_columns, outcome_word, single_column_auc
from intent_model.table.roles import infer_roles, load_lead_table, parse_label
from intent_model.training.from_table import LeakWarning, train_table

PLACEHOLDERS = Config().features.placeholders()


@pytest.fixture(scope="session")
def crm_table() -> pd.DataFrame:
    return crm_export(simulate_funnel(n_leads=1500, seed=5, n_days=300), seed=5)


def _config(uri: str, **table) -> Config:
    return Config(
        training=TrainingConfig(tracking_uri=uri),
        table=TableConfig(**table),
    )


@pytest.fixture(scope="session")
def crm_trained(crm_table, tmp_path_factory):
    """One real training on the table (MLflow in a temporary store), with promotion."""
    root = tmp_path_factory.mktemp("crm")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    result = train_table(
        crm_table, root / "models" / "crm", _config(uri), label_col="converted", promote=True
    )
    return result, root, uri


def test_planted_post_outcome_columns_are_left_out_and_their_worth_is_shown(crm_trained):
    result, _, _ = crm_trained
    left_out = set(result.checks.loc[result.checks["left_out"], "column"])
    assert left_out == set(PLANTED_COLUMNS)
    honest = result.checks[~result.checks["flagged"]]
    assert {"total_visits", "total_time_on_site_seconds", "job_title"} <= set(honest["column"])
    features = result.metadata["feature_names"]
    assert not [f for f in features if f.split("=")[0].removeprefix("has_") in PLANTED_COLUMNS]
    metrics = result.metrics
    # The leak would have looked far better than the honest model: that is the point.
    assert metrics.loc["with_left_out_columns", "roc_auc"] > 0.97
    assert metrics.loc["model", "roc_auc"] < metrics.loc["with_left_out_columns", "roc_auc"] - 0.03
    assert metrics.loc["model", "roc_auc"] > metrics.loc["points_rule", "roc_auc"] - 0.02
    assert result.warnings == []


def test_left_out_columns_are_in_the_card_and_the_mlflow_run(crm_trained):
    result, _, uri = crm_trained
    card = (result.bundle_dir / "model_card.md").read_text()
    assert "## Columns written after the outcome" in card
    for column in PLANTED_COLUMNS:
        assert f"- `{column}`:" in card
    assert "WITH the left-out columns" in card
    metadata = json.loads((result.bundle_dir / "metadata.json").read_text())
    assert sorted(metadata["left_out_columns"]) == sorted(PLANTED_COLUMNS)
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(result.run_id)
    assert set(run.data.tags["left_out_columns"].split(", ")) == set(PLANTED_COLUMNS)
    assert "with_left_out_columns.roc_auc" in run.data.metrics
    assert "model.roc_auc" in run.data.metrics
    assert result.promotion is not None and result.promotion.promoted


def test_evaluation_is_out_of_time_with_a_creation_date(crm_trained, crm_table):
    result, _, _ = crm_trained
    assert result.metadata["evaluation"]["method"] == "out-of-time"
    assert result.evaluation.startswith("out of time")
    n_evaluated = result.metadata["training_data"]["n_evaluated"]
    assert n_evaluated == pytest.approx(0.2 * len(crm_table), abs=2)
    assert result.metrics.loc["model", "n"] == n_evaluated


def test_placeholders_count_as_missing_and_never_as_a_category(crm_trained, crm_table):
    result, _, _ = crm_trained
    counted = result.placeholders.groupby("column")["n_cells"].sum()
    for column in ("job_title", "company_size", "industry", "country"):
        text = crm_table[column].astype(str).str.strip()
        expected = int(text.str.casefold().isin(PLACEHOLDERS).sum() + (text == "").sum())
        assert counted[column] == expected > 0
    features = result.metadata["feature_names"]
    for placeholder in FORM_PLACEHOLDERS:
        assert f"job_title={placeholder}" not in features
    assert "has_job_title" in features


def test_scoring_a_table_gives_every_lead_once_with_reasons_in_the_tables_words(
    crm_trained, crm_table, tmp_path
):
    result, _, _ = crm_trained
    out = tmp_path / "scores.csv"
    scored = predict(result.bundle_dir, None, crm_table, out).scores
    assert len(scored) == len(crm_table) and scored["lead_id"].is_unique
    assert set(scored["lead_id"]) == set(crm_table["lead_id"])
    ranked = scored["rank"].dropna()
    assert sorted(ranked) == list(range(1, len(ranked) + 1))
    assert (scored.loc[scored["rank"].isna(), "intent"] == "converted").all()
    assert (scored["scored_from"] == "table").all()
    written = pd.read_csv(out)
    assert len(written) == len(crm_table)
    reasons = "; ".join(scored["top_reasons"])
    columns = "|".join(map(re.escape, crm_table.columns))
    assert re.search(rf"(?:{columns}) = \S", reasons)
    # Presence features in words ("phone not given", "7 of 7 form fields given").
    assert re.search(r"\w+ (?:not )?given", reasons)
    assert not re.search(r"=\(other\)|has_", reasons)
    # A placeholder is never shown as a value: the lead did not give it.
    for placeholder in FORM_PLACEHOLDERS:
        assert f"= {placeholder};" not in reasons + ";"


def test_the_label_column_is_ignored_when_scoring(crm_trained, crm_table):
    result, _, _ = crm_trained
    with_label = predict(result.bundle_dir, None, crm_table).scores.set_index("lead_id")
    scrambled = crm_table.assign(converted=1 - crm_table["converted"])
    without = predict(result.bundle_dir, None, scrambled.drop(columns="converted")).scores
    np.testing.assert_allclose(
        with_label.loc[without["lead_id"], "p_hard"].to_numpy(), without["p_hard"].to_numpy()
    )


def test_mlflow_pyfunc_scores_raw_rows_like_batch_scoring(crm_trained, crm_table):
    result, _, uri = crm_trained
    batch = predict(result.bundle_dir, None, crm_table).scores.set_index("lead_id")
    mlflow.set_tracking_uri(uri)
    pyfunc = mlflow.pyfunc.load_model(f"models:/lead-intent-crm/{result.model_version}")
    served = pyfunc.predict(crm_table).set_index("lead_id")
    np.testing.assert_allclose(
        served["p_hard"].to_numpy(), batch.loc[served.index, "p_hard"].to_numpy(), atol=1e-9
    )
    assert served["model_version"].unique().tolist() == batch["model_version"].unique().tolist()
    assert batch["model_version"].iloc[0] == f"lead-intent-crm v{result.model_version}"


def test_reasons_are_the_same_whatever_the_block_of_rows_explained_at_once(
    crm_trained, crm_table, monkeypatch
):
    from intent_model.scoring import output

    result, _, _ = crm_trained
    whole = predict(result.bundle_dir, None, crm_table).scores.set_index("lead_id")
    # Blocks of 7 rows: a table's wording must still read each lead's own raw values.
    monkeypatch.setattr(output, "REASON_BLOCK_ROWS", 7)
    in_blocks = predict(result.bundle_dir, None, crm_table).scores.set_index("lead_id")
    pd.testing.assert_series_equal(in_blocks["top_reasons"], whole["top_reasons"])
    assert whole["top_reasons"].str.len().gt(0).all()


def test_drift_of_a_table_is_reported_by_column(crm_trained, crm_table):
    from intent_model.modeling.drift import DriftWarning

    result, _, _ = crm_trained
    same = predict(result.bundle_dir, None, crm_table)
    assert (same.drift["psi"] < 0.01).all()
    shifted = crm_table.assign(total_visits=crm_table["total_visits"] * 10 + 50)
    with pytest.warns(DriftWarning, match="total_visits"):
        moved = predict(result.bundle_dir, None, shifted)
    row = moved.drift.set_index("what").loc["total_visits"]
    assert row["verdict"] == "significant shift"
    assert "total_visits" in moved.summary()


def test_a_table_missing_a_model_column_is_refused_by_name(crm_trained, crm_table):
    result, _, _ = crm_trained
    with pytest.raises(InputError, match="total_visits"):
        predict(result.bundle_dir, None, crm_table.drop(columns="total_visits"))


def test_keep_column_keeps_a_flagged_column_and_warns_when_the_auc_is_too_good(crm_table, tmp_path):
    config = Config(training=TrainingConfig(), table=TableConfig(keep_columns=("lead_status",)))
    with pytest.warns(LeakWarning, match="lead_status"):
        result = train_table(
            crm_table, tmp_path / "kept", config, label_col="converted", track=False
        )
    kept = result.checks.set_index("column")
    assert kept.loc["lead_status", "kept"] and not kept.loc["lead_status", "left_out"]
    assert "lead_status=Converted" in result.metadata["feature_names"]
    assert result.metrics.loc["model", "roc_auc"] > 0.97
    assert "KEPT" in (tmp_path / "kept" / "model_card.md").read_text().upper()


def test_without_a_creation_date_the_evaluation_is_stratified_cross_validation(crm_table, tmp_path):
    table = crm_table.drop(columns="created_at").head(800)
    config = Config(table=TableConfig(evaluation_folds=3))
    result = train_table(table, tmp_path / "cv", config, label_col="converted", track=False)
    assert result.metadata["evaluation"]["method"] == "cross-validation"
    assert "no creation date" in result.evaluation and "optimistic" in result.evaluation
    # Half of a small table chooses the model; the other half is measured, out of fold:
    # no lead both chooses and measures.
    choosing = result.metadata["evaluation"]["n_selection"]
    measured = result.metrics.loc["model", "n"]
    assert choosing == 400 and measured == 400
    assert f"chosen on {choosing:,} leads" in result.evaluation
    assert f"the other {int(measured):,} are measured" in result.evaluation
    card = (tmp_path / "cv" / "model_card.md").read_text()
    assert "no lead both chooses the model and measures it" in card


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.head(0), "header but no rows"),
        (lambda t: t.assign(converted=0), "one class only"),
        (lambda t: t.assign(converted=t["converted"].map({1: "yes", 0: "maybe"})), "not a label"),
        (lambda t: t.assign(lead_id="L1"), "duplicated"),
    ],
    ids=["header-only", "one-class", "invalid-label", "repeated-id"],
)
def test_bad_tables_give_one_clear_error(crm_table, tmp_path, capsys, change, message):
    path = tmp_path / "crm.csv"
    change(crm_table.head(300)).to_csv(path, index=False)
    code = main(
        ["train", "--leads", str(path), "--label-col", "converted", "--out", str(tmp_path / "m")]
    )
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "crm.csv" in lines[0] and "Traceback" not in err
    assert message in err


def test_invalid_label_values_are_named_with_their_lines(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"lead_id": ["a", "b", "c"], "won": ["yes", "perhaps", "no"]}).to_csv(
        path, index=False
    )
    with pytest.raises(InputError, match=r"t\.csv: column 'won' .* line 3: 'perhaps'"):
        load_lead_table(path, Config(), "won")


def test_one_label_parser_and_blank_is_the_one_difference_between_the_modes():
    values = pd.Series(["yes", "", None, "  ", "0"], index=[10, 11, 12, 13, 14])
    with pytest.raises(InputError, match=r"3 value\(s\) that are not a label .*line 13"):
        parse_label(values, "t.csv", "won")
    unlabelled = parse_label(values, "t.csv", "won", blank="unlabelled")
    np.testing.assert_array_equal(unlabelled, [1.0, np.nan, np.nan, np.nan, 0.0])
    with pytest.raises(InputError, match=r"1 value\(s\) .*not labelled yet\): line 15: 'maybe'"):
        parse_label(values.replace("  ", "maybe"), "t.csv", "won", blank="unlabelled")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["1", "0", "yes", "no", "true", "false", "hard", "soft", "y", "n"]),
            st.sampled_from([str.upper, str.lower, str.title]),
            st.sampled_from(["", " ", "  "]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_label_parser_reads_every_allowed_spelling(tokens):
    values = pd.Series([pad + case(token) + pad for token, case, pad in tokens])
    expected = [1 if token in ("1", "yes", "true", "hard", "y") else 0 for token, _, _ in tokens]
    assert parse_label(values, "t.csv", "label").tolist() == expected


@settings(max_examples=50)
@given(st.text(alphabet=string.ascii_letters + string.digits + " -", min_size=1, max_size=12))
def test_label_parser_refuses_anything_else(text):
    allowed = {"1", "0", "yes", "no", "true", "false", "hard", "soft", "y", "n", "1.0", "0.0"}
    values = pd.Series(["yes", text])
    if text.strip().casefold() in allowed:
        assert len(parse_label(values, "t.csv", "label")) == 2
    else:
        with pytest.raises(InputError, match="not a label"):
            parse_label(values, "t.csv", "label")


def test_roles_are_inferred_from_type_and_content():
    n = 60
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(n)],
            "Lead Number": np.arange(1000, 1000 + n),
            "Total Visits": rng.integers(0, 30, n),
            "Time on site": [f"{v:,}" for v in rng.integers(0, 5000, n)],
            "Lead Source": rng.choice(["Google", "Direct", "Select"], n),
            "Notes": [f"called on day {i}, will send the brochure again" for i in range(n)],
            "Email": [f"person{i}@example.com" for i in range(n)],
            "Last Activity Date": [f"2025-0{1 + i % 9}-1{i % 9}" for i in range(n)],
            "Country": ["India"] * n,
            "Empty": ["N/A"] * n,
            "converted": rng.integers(0, 2, n),
        }
    )
    roles = infer_roles(frame, PLACEHOLDERS, "converted").set_index("column")["role"]
    assert roles.to_dict() == {
        "lead_id": "identifier",
        "Lead Number": "identifier",
        "Total Visits": "numeric",
        "Time on site": "numeric",
        "Lead Source": "categorical",
        "Notes": "text",
        "Email": "identifier",
        "Last Activity Date": "date",
        "Country": "constant",
        "Empty": "constant",
        "converted": "label",
    }
    overridden = infer_roles(
        frame, PLACEHOLDERS, "converted", {"Lead Number": "numeric", "Notes": "ignore"}
    ).set_index("column")["role"]
    assert overridden["Lead Number"] == "numeric" and overridden["Notes"] == "ignore"
    with pytest.raises(ConfigError, match="Lead Nmber"):
        infer_roles(frame, PLACEHOLDERS, "converted", {"Lead Nmber": "numeric"})


def test_roles_override_is_read_from_the_config_file_section():
    config = config_from_dict({"columns": {"roles": {"Lead Number": "identifier"}}})
    assert dict(config.columns.roles) == {"Lead Number": "identifier"}
    with pytest.raises(ConfigError, match="Lead Number"):
        config_from_dict({"columns": {"roles": {"Lead Number": "money"}}})
    # The roles table is not a column rename.
    assert config.columns.renames() == {}


def test_a_copy_of_the_label_is_flagged_and_noise_is_not():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2000)
    frame = pd.DataFrame(
        {
            "lead_id": [str(i) for i in range(2000)],
            "noise": rng.normal(size=2000),
            "echo": np.where(rng.random(2000) < 0.97, y, 1 - y) * 10.0,
            "won_reason": np.where(y == 1, "price", None),
        }
    )
    roles = infer_roles(frame, PLACEHOLDERS)
    checks = check_columns(frame, roles, y, Config()).set_index("column")
    assert not checks.loc["noise", "flagged"] and checks.loc["noise", "single_column_auc"] > 0.45
    assert checks.loc["echo", "left_out"] and checks.loc["echo", "single_column_auc"] > 0.95
    # Filled only for won deals: given-or-not alone reveals the label.
    assert checks.loc["won_reason", "left_out"]
    assert single_column_auc(frame["noise"], "numeric", y, PLACEHOLDERS) < 0.56


def test_a_missing_date_is_judged_as_missing_like_a_missing_number():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 2000)
    day = pd.Series(rng.integers(0, 400, 2000).astype(float)).where(
        rng.random(2000) > 0.03 + y * 0.05
    )
    dates = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(day, unit="D")
    as_dates = single_column_auc(dates, "date", y, PLACEHOLDERS)
    as_numbers = single_column_auc(day, "numeric", y, PLACEHOLDERS)
    assert as_dates == pytest.approx(as_numbers)


def test_outcome_words_are_matched_as_words_not_substrings():
    assert outcome_word("Lead Status") == "status"
    assert outcome_word("DealStage") == "deal"
    assert outcome_word("percentage_of_pages") is None
    assert outcome_word("Asymmetrique Activity Score") == "score"
    assert outcome_word("Total Time Spent on Website") is None


def test_cli_trains_and_scores_a_crm_table(crm_table, tmp_path, capsys):
    table_path = tmp_path / "crm.csv"
    crm_table.rename(columns={"lead_id": "Prospect ID", "created_at": "Created On"}).to_csv(
        table_path, index=False
    )
    mapping = ["--lead-id-col", "Prospect ID", "--created-at-col", "Created On"]
    code = main(
        ["train", "--leads", str(table_path), "--label-col", "converted"]
        + ["--out", str(tmp_path / "model"), "--no-track"]
        + mapping
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "column roles" in captured.err and "left out 'lead_status'" in captured.err
    assert "Evaluation: out of time" in captured.out
    code = main(
        ["predict", "--model", str(tmp_path / "model"), "--leads", str(table_path)]
        + ["--out", str(tmp_path / "scores.parquet")]
        + mapping
    )
    assert code == 0, capsys.readouterr().err
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    # The scores keep the export's name for the lead id.
    assert len(scores) == len(crm_table) and scores["Prospect ID"].is_unique
    loaded = load_model(tmp_path / "model")
    assert loaded.metadata["mode"] == "table"


def test_the_comparison_rows_learn_from_a_bounded_sample_and_score_every_evaluated_row(
    monkeypatch,
):
    from types import SimpleNamespace

    from intent_model.modeling.split import TableEvaluation
    from intent_model.training import from_table

    monkeypatch.setattr(from_table, "COMPARISON_ROWS", 50)
    holdout = np.zeros(400, dtype=bool)
    holdout[300:] = True
    evaluation = TableEvaluation("out-of-time", "", ~holdout, holdout)
    prepared = SimpleNamespace(evaluation=evaluation, y=np.arange(400) % 2)
    rows, ((train, valid),) = from_table._comparison_splits(prepared, Config())
    assert len(train) == 50 and set(rows[train]) <= set(range(300))
    assert list(rows[valid]) == list(range(300, 400))  # every evaluated row is scored
    scores = from_table._on_all_rows(np.arange(len(rows), dtype=float), rows, 400)
    assert np.isnan(scores[:300]).sum() == 250 and not np.isnan(scores[300:]).any()


def test_the_logistic_regression_baseline_learns_from_a_bounded_sample(
    crm_table, monkeypatch, tmp_path
):
    from intent_model.modeling import pipeline
    from intent_model.training import from_table

    monkeypatch.setattr(from_table, "LINEAR_ROWS", 300)
    seen: dict[str, int] = {}
    fit = pipeline.CalibratedIntentClassifier.fit

    def counting_fit(self, X, y, groups, final_fit=True):
        seen[self.names[0]] = len(X)
        return fit(self, X, y, groups, final_fit)

    monkeypatch.setattr(pipeline.CalibratedIntentClassifier, "fit", counting_fit)
    result = train_table(crm_table, tmp_path / "m", label_col="converted", track=False)
    n_development = result.metadata["training_data"]["n_development"]
    assert n_development > 300
    assert seen["logistic regression"] == 300
    assert seen["gradient boosting 1"] == n_development  # the model learns from every row
    assert 0.5 < result.metrics.loc["logistic_regression", "roc_auc"] <= 1


def test_a_table_model_is_chosen_on_at_most_selection_rows_and_learns_from_every_row(
    crm_table, tmp_path
):
    said: list[str] = []
    config = Config(table=TableConfig(selection_rows=500))
    result = train_table(
        crm_table, tmp_path / "m", config, label_col="converted", track=False, progress=said.append
    )
    n_development = result.metadata["training_data"]["n_development"]
    model = load_model(tmp_path / "m").model.classifier
    chosen_on = len(model.oof_labels_)
    # Whole leads are drawn until the next would pass the bound.
    assert 450 <= chosen_on <= 500 < n_development == model.n_rows_fit_
    assert any(f"chosen on {chosen_on:,} of the {n_development:,} older leads" in s for s in said)
    # Without a date, the leads that choose the model are bounded the same way.
    undated = crm_table.drop(columns="created_at")
    cv = train_table(undated, tmp_path / "cv", config, label_col="converted", track=False)
    assert cv.metadata["evaluation"]["n_selection"] == 500


def test_a_table_models_reasons_add_up_with_category_splits_and_sit_on_the_leads_category(
    crm_trained, crm_table
):
    from intent_model.modeling.pipeline import CategoryCodes
    from intent_model.scoring.explain import explain
    from intent_model.table.encoding import TableSpec

    result, _, _ = crm_trained
    loaded = load_model(result.bundle_dir)
    estimator = loaded.model.classifier.estimator_
    codes = dict(estimator.steps).get("codes")
    assert isinstance(codes, CategoryCodes) and codes.categorical
    booster = estimator[-1]
    trees = [tree for (tree,) in booster._predictors]
    assert any(tree.nodes["is_categorical"].any() for tree in trees), "no categorical split"
    spec = TableSpec.from_dict(result.metadata["table_spec"])
    features = spec.encode(crm_table, pd.Timestamp(result.metadata["training_as_of"]))
    p_hard = loaded.model.predict_proba(features)
    explanation = explain(loaded.model, features)
    total = explanation.base_value + explanation.contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, np.log(p_hard / (1 - p_hard)), atol=1e-6)
    # A categorical column's push sits on the row's own category (or has_<col> when not
    # given), never on a category the lead does not have.
    for name, (presence, *indicators) in codes.groups_:
        pushed = explanation.contributions[indicators].to_numpy() != 0
        assert not (pushed & (features[indicators].to_numpy() != 1)).any(), name
        blank = features[presence].to_numpy() == 0
        assert (explanation.contributions.loc[~blank, presence] == 0).all(), name


def test_category_codes_are_each_rows_category_and_missing_when_not_given():
    from intent_model.modeling.pipeline import CategoryCodes

    X = pd.DataFrame(
        {
            "visits": [1.0, 2.0, 3.0, 4.0],
            "has_size": [1.0, 1.0, 0.0, 1.0],
            "size=small": [1.0, 0.0, 0.0, 0.0],
            "size=large": [0.0, 0.0, 0.0, 1.0],
            "size=(other)": [0.0, 1.0, 0.0, 0.0],
        }
    )
    groups = (("size", ("has_size", "size=small", "size=large", "size=(other)")),)
    codes = CategoryCodes(groups).fit(X)
    coded = codes.transform(X)
    assert list(coded.columns) == ["visits", "size"]
    np.testing.assert_array_equal(coded["size"].to_numpy(), [0.0, 2.0, np.nan, 1.0])
    spread = codes.spread(np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]]), X)
    assert spread.tolist() == [
        [1.0, 0.0, 10.0, 0.0, 0.0],
        [2.0, 0.0, 0.0, 0.0, 20.0],
        [3.0, 30.0, 0.0, 0.0, 0.0],
        [4.0, 0.0, 0.0, 40.0, 0.0],
    ]
    # A group whose features are not all there (a column dropped for a comparison) stays out.
    assert CategoryCodes(groups).fit(X.drop(columns="size=large")).categorical == ()
