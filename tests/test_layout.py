"""The package's imports flow one way: each room imports only the rooms below it.

Every ``import`` counts, those inside functions too: an import deferred to
call time still makes the lower room depend on the higher one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "intent_model"

# Lowest first. A module may import its own room and any room below it.
ROOMS = [
    ("intent_model.errors", "intent_model.names", "intent_model.runtime", "intent_model.version"),
    ("intent_model.io",),
    ("intent_model.table",),
    ("intent_model.events",),
    ("intent_model.modeling",),
    ("intent_model.scoring",),
    ("intent_model.training",),
    ("intent_model.engines",),
    ("intent_model.simulate",),
    ("intent_model.cli", "intent_model"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every intent_model module a file imports (``from a import b`` names ``a.b`` if it is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "intent_model" and _exists(name)}


def _exists(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").exists() or (PACKAGE / relative).is_dir()


def room_of(module: str) -> int:
    best, rank = -1, None
    for index, room in enumerate(ROOMS):
        for prefix in room:
            matches = module == prefix or module.startswith(prefix + ".")
            if (
                matches
                and len(prefix) > best
                and not (prefix == "intent_model" and module != prefix)
            ):
                best, rank = len(prefix), index
    if rank is None:
        raise AssertionError(f"{module} is in no room: add it to ROOMS in {Path(__file__).name}")
    return rank


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imported_modules(path) - {name} for name, path in modules.items()}


def test_every_module_has_a_room():
    for module in import_graph():
        room_of(module)


def test_no_module_imports_a_room_above_its_own():
    upward = [
        f"{module} ({ROOMS[room_of(module)][0]}) imports {target} ({ROOMS[room_of(target)][0]})"
        for module, targets in import_graph().items()
        for target in sorted(targets)
        if room_of(target) > room_of(module)
    ]
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def test_no_import_cycle():
    graph = import_graph()
    cycles = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # A package's __init__ importing its own modules is not a cycle of design.
    cycles = [c for c in cycles if not any(c[0] == m or c[-1] == m for m in ("intent_model",))]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", ["upward", "cycle"])
def test_the_checks_catch_what_they_look_for(name, tmp_path, monkeypatch):
    """The checks fail on a planted upward import and a planted cycle (so they can fail)."""
    fake = tmp_path / "intent_model"
    for room in ("io", "scoring"):
        (fake / room).mkdir(parents=True)
        (fake / room / "__init__.py").write_text("")
    if name == "upward":
        (fake / "io" / "read.py").write_text("from intent_model.scoring.out import x\n")
        (fake / "scoring" / "out.py").write_text("x = 1\n")
        monkeypatch.setattr(__import__(__name__), "PACKAGE", fake, raising=False)
        globals()["PACKAGE"] = fake
        try:
            with pytest.raises(AssertionError, match="imports that run upward"):
                test_no_module_imports_a_room_above_its_own()
        finally:
            globals()["PACKAGE"] = PACKAGE_REAL
    else:
        (fake / "scoring" / "a.py").write_text("from intent_model.scoring import b\n")
        (fake / "scoring" / "b.py").write_text("import intent_model.scoring.a\n")
        globals()["PACKAGE"] = fake
        try:
            with pytest.raises(AssertionError, match="import cycles"):
                test_no_import_cycle()
        finally:
            globals()["PACKAGE"] = PACKAGE_REAL


PACKAGE_REAL = PACKAGE
