"""One lead scored online: the registered model answers a request carrying the lead's
events and profile with batch scoring's p_hard and reasons, in process and through a real
``mlflow models serve`` on localhost."""

from __future__ import annotations

import json
import os
import re
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


README = Path(__file__).resolve().parents[2] / "README.md"
MLFLOW = Path(sys.executable).parent / "mlflow"


def readme_request() -> str:
    """The README's one-lead ``curl`` command, as written."""
    blocks = re.findall(r"```shell\n(.*?)```", README.read_text(), re.S)
    command = next(b for b in blocks if "curl" in b)
    return command[command.index("curl") :].strip()


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory):
    """A real ``mlflow models serve`` of the champion on a free localhost port."""
    if not MLFLOW.exists():
        pytest.skip("the mlflow command is not installed beside this Python")
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "server.log"
    process = subprocess.Popen(
        [
            str(MLFLOW),
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
            "PATH": f"{MLFLOW.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        },
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),  # noqa: SIM115 (closed with the process)
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start in 3 minutes"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_mlflow_models_serve_answers_one_lead_as_batch_scoring(server, batch):
    expected, rows = batch
    body = {"dataframe_records": as_json_records(rows), "params": {"as_of": str(AS_OF)}}
    answer = _post(f"{server}/invocations", body)["predictions"]
    assert [row["lead_id"] for row in answer] == [expected.name]
    assert np.isclose(answer[0]["p_hard"], expected["p_hard"], rtol=0, atol=1e-9)
    assert answer[0]["top_reasons"] == expected["top_reasons"]
    assert answer[0]["tier"] == expected["tier"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_request_runs_as_written(server):
    command = readme_request().replace("http://127.0.0.1:5001", server)
    finished = subprocess.run(
        ["bash", "-c", command + " -w '\\n%{http_code}'"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    body, status = finished.stdout.rsplit("\n", 1)
    assert status == "200", body
    (answer,) = json.loads(body)["predictions"]
    assert answer["lead_id"] == "L000042"
    assert 0 < answer["p_hard"] < 1 and answer["top_reasons"]


README_LEAD = {
    "lead_id": "L000042",
    "timestamp": "2025-01-28T16:40:09Z",
    "event_type": "pricing_page_view",
    "channel": "web",
    "created_at": "2024-11-02T08:00:00Z",
    "email": "ana@acme.example",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("records", "params", "named"),
    [
        ([{**README_LEAD, "timestamp": "yesterday"}], {}, "'timestamp'"),
        ([{**README_LEAD, "lead_id": None}], {}, "'lead_id'"),
        ([{k: v for k, v in README_LEAD.items() if k != "lead_id"}], {}, "lead_id"),
        ([], {}, "no rows"),
        ([README_LEAD], {"as_of": "not a time"}, "as_of"),
        ([{**README_LEAD, "timestamp": {"day": 3}}], {}, "'timestamp'"),
    ],
    ids=["bad timestamp", "null id", "no id", "empty list", "as_of not a time", "object time"],
)
def test_a_bad_request_gets_a_400_with_one_line_naming_the_column(server, records, params, named):
    body = {"dataframe_records": records, "params": {"as_of": "2025-02-01T00:00:00Z", **params}}
    request = urllib.request.Request(
        f"{server}/invocations", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=60)
    assert answer.value.code == 400
    error = json.loads(answer.value.read())
    assert "stack_trace" not in error
    assert "\n" not in error["message"] and "Traceback" not in error["message"]
    assert named in error["message"]
