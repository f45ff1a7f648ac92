"""One lead scored online: the registered model answers a request carrying the lead's
events and profile with batch scoring's p_hard and reasons, in process and through a real
``mlflow models serve`` on localhost."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

AS_OF = pd.Timestamp("2025-02-01", tz="UTC")


@pytest.fixture(scope="module")
def batch(trained, small_demo):
    """Batch scores as of AS_OF, and the best-ranked open lead's request rows."""
    from intent_model import predict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = predict(
            trained[1] / "models" / "first", small_demo.events, small_demo.leads, as_of=AS_OF
        ).scores
    lead = scores.loc[scores["rank"] == 1, "lead_id"].item()
    return scores.set_index("lead_id").loc[lead], request_rows(small_demo, lead)


def request_rows(demo, lead: str) -> pd.DataFrame:
    """What a web form's back end knows of one lead: its events so far and its profile,
    the profile repeated on each row."""
    events = demo.events[(demo.events["lead_id"] == lead) & (demo.events["timestamp"] < AS_OF)]
    profile = demo.leads[demo.leads["lead_id"] == lead]
    return events.merge(profile, on="lead_id", how="left")


def as_json_records(rows: pd.DataFrame) -> list[dict]:
    return json.loads(rows.to_json(orient="records", date_format="iso"))


def test_the_pyfunc_scores_a_lead_from_its_events_as_batch_does(trained, batch):
    expected, rows = batch
    mlflow.set_tracking_uri(trained[2])
    model = mlflow.pyfunc.load_model("models:/lead-intent@champion")
    answer = model.predict(rows, params={"as_of": str(AS_OF)})
    assert answer["lead_id"].tolist() == [expected.name]
    assert abs(answer["p_hard"].item() - expected["p_hard"]) <= 1e-9
    assert answer["top_reasons"].item() == expected["top_reasons"]
    # The same rows as JSON (strings for times): the form a served request has.
    answer = model.predict(pd.DataFrame(as_json_records(rows)), params={"as_of": str(AS_OF)})
    assert abs(answer["p_hard"].item() - expected["p_hard"]) <= 1e-9


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.mark.skipif(
    shutil.which("mlflow", path=str(Path(sys.executable).parent)) is None,
    reason="the mlflow command is not installed beside this Python",
)
def test_mlflow_models_serve_answers_one_lead_as_batch_scoring(trained, batch, tmp_path):
    expected, rows = batch
    port = _free_port()
    mlflow_command = str(Path(sys.executable).parent / "mlflow")
    server = subprocess.Popen(
        [
            mlflow_command,
            "models",
            "serve",
            "-m",
            "models:/lead-intent@champion",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        # mlflow starts uvicorn by name: the environment's bin directory must be on PATH.
        env={
            **os.environ,
            "MLFLOW_TRACKING_URI": trained[2],
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        },
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "server.log", "w"),  # noqa: SIM115 (closed with the process)
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start in 3 minutes"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        body = {"dataframe_records": as_json_records(rows), "params": {"as_of": str(AS_OF)}}
        answer = _post(f"http://127.0.0.1:{port}/invocations", body)["predictions"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert [row["lead_id"] for row in answer] == [expected.name]
    assert np.isclose(answer[0]["p_hard"], expected["p_hard"], rtol=0, atol=1e-9)
    assert answer[0]["top_reasons"] == expected["top_reasons"]
    assert answer[0]["tier"] == expected["tier"]
