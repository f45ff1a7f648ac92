"""The reports as a person opens them: headless Chromium renders each page without console
errors and with every picture loaded; a screenshot of each is kept in test-artifacts/."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    # CI installs them (.ci/run); a developer without them is told how, not failed.
    if os.environ.get("CI"):
        raise RuntimeError("the browser tests need chromium and chromium-driver (.ci/run)")
    pytest.skip(
        "needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def reports(trained, small_demo, tmp_path_factory) -> dict[str, Path]:
    from intent_model import monitor, predict

    root = tmp_path_factory.mktemp("reports")
    as_of = pd.Timestamp("2025-01-15", tz="UTC")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predict(
            "models:/lead-intent@champion",
            small_demo.events,
            small_demo.leads,
            root / "scores.parquet",
            as_of=as_of,
            tracking_uri=trained[2],
            report=root / "scores.html",
        )
        monitor(
            root / "scores.parquet",
            small_demo.events,
            out=root / "monitoring",
            tracking_uri=trained[2],
            track=False,
        )
    return {"scoring": root / "scores.html", "monitoring": root / "monitoring" / "report.html"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["scoring", "monitoring"])
def test_the_report_renders_in_a_real_browser(browser, reports, name):
    browser.get(reports[name].as_uri())
    n_images = browser.execute_script("return document.images.length")
    loaded = browser.execute_script(
        "return Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
    )
    assert n_images >= 1 and loaded == n_images
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    assert browser.title and "Traceback" not in browser.page_source
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1200, min(int(height) + 100, 12000))
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / f"{name}-report.png"))
