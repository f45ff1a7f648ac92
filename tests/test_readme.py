"""Every intent-model command in the fenced bash blocks of the README and of the docs runs as
written on the demo data, in reading order: the README, then the docs pages in the site's
order (a later command may use what an earlier one wrote)."""

from __future__ import annotations

import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ("intent-model", ".venv/bin/intent-model")


def documented_pages() -> list[Path]:
    """The README, then every page of the docs in the order of the site's navigation."""
    nav = re.findall(r":\s*(\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)
    return [ROOT / "README.md", *(ROOT / "docs" / page for page in nav)]


def readme_commands() -> list[str]:
    """The commands of the ```bash blocks, continuation lines joined, comments cut."""
    text = "\n".join(page.read_text() for page in documented_pages())
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line.split(" ", 1)[0] in PROGRAMS:
                commands.append(line)
    return commands


def test_the_readme_shows_the_main_commands():
    verbs = {shlex.split(c)[1] for c in readme_commands()}
    assert {"generate", "validate", "train", "promote", "predict"} <= verbs


def test_every_readme_command_runs_as_written_on_the_demo_data(tmp_path):
    python = [sys.executable, "-m", "intent_model.cli"]
    # The demo data the commands name, smaller than `make demo` writes, for speed.
    setup = [*python, "generate", "--out", "data/raw/demo", "--leads", "1500", "--crm"]
    subprocess.run(setup, cwd=tmp_path, check=True, capture_output=True)
    can_spark = importlib.util.find_spec("pyspark") is not None and shutil.which("java")
    ran = 0
    for command in readme_commands():
        words = shlex.split(command)
        if "--engine" in words and "spark" in words and not can_spark:
            continue
        finished = subprocess.run(
            [*python, *words[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
        assert finished.returncode == 0, f"{command}\n{finished.stderr[-2000:]}"
        ran += 1
    assert ran >= 8
    assert (tmp_path / "data" / "processed" / "crm_scores.csv").exists()
