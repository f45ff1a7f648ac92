"""docs/configuration.md names every key of every section, with its default, and no other."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from intent_model.io.config import Config

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def documented_keys() -> dict[str, dict[str, str]]:
    """Section -> key -> the default column of its row."""
    sections: dict[str, dict[str, str]] = {}
    section = None
    for line in PAGE.read_text().splitlines():
        if heading := re.match(r"### \[(\w+)\]", line):
            section = sections.setdefault(heading[1], {})
        elif section is not None and (row := re.match(r"\| `(\w+)` \| `(.*?)` \|", line)):
            section[row[1]] = row[2]
    return sections


def test_the_configuration_page_documents_every_key_and_only_those():
    documented = documented_keys()
    config = Config()
    for section in dataclasses.fields(Config):
        values = getattr(config, section.name)
        keys = {f.name for f in dataclasses.fields(values)}
        assert set(documented.get(section.name, {})) == keys, section.name
        for key, default in documented[section.name].items():
            value = getattr(values, key)
            if isinstance(value, tuple) and len(value) > 4:
                assert default == f"{len(value)} values"
            else:
                assert default == repr(value).replace("|", "\\|"), (section.name, key)
