"""The package's layout holds: each room imports only the rooms below it, no import
circles, and no function so long that it does a stage's whole job.

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
    (
        "intent_model.errors",
        "intent_model.names",
        "intent_model.runtime",
        "intent_model.version",
        "intent_model.words",
    ),
    ("intent_model.io",),
    ("intent_model.table",),
    ("intent_model.events",),
    ("intent_model.modeling",),
    ("intent_model.scoring",),
    ("intent_model.training",),
    ("intent_model.monitoring",),
    ("intent_model.engines",),
    ("intent_model.simulate",),
    ("intent_model.cli", "intent_model"),
]
# Lines of a function's body (its docstring aside) beyond which it must say why.
MAX_FUNCTION_LINES = 60
LONG_ON_PURPOSE = "# long:"


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, package: Path) -> set[str]:
    """Every package module a file imports (``from a import b`` names ``a.b`` if it is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if _is_module_of(name, package)}


def _is_module_of(name: str, package: Path) -> bool:
    top, *rest = name.split(".")
    if top != package.name:
        return False
    relative = package.joinpath(*rest)
    return relative.with_suffix(".py").exists() or relative.is_dir()


def room_of(module: str) -> int:
    """The index in ROOMS of the most specific room that holds ``module``."""
    best, rank = -1, None
    for index, room in enumerate(ROOMS):
        for prefix in room:
            # The package itself (its __init__) is a room of its own: not a prefix.
            holds = module == prefix or (
                module.startswith(prefix + ".") and prefix != "intent_model"
            )
            if holds and len(prefix) > best:
                best, rank = len(prefix), index
    if rank is None:
        raise AssertionError(f"{module} is in no room: add it to ROOMS in {Path(__file__).name}")
    return rank


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    return {name: imported_modules(path, package) - {name} for name, path in modules.items()}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} ({ROOMS[room_of(module)][0]}) imports {target} ({ROOMS[room_of(target)][0]})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if room_of(target) > room_of(module)
    ]


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles found by a depth-first walk (each cycle at least once)."""
    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # The package's __init__ re-exports the API: importing its own modules is not a circle.
    return [c for c in cycles if c[0] != "intent_model"]


def long_functions(package: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if not body:
                continue
            length = node.end_lineno - body[0].lineno + 1
            text = lines[node.lineno - 1 : node.end_lineno]
            if length > MAX_FUNCTION_LINES and not any(LONG_ON_PURPOSE in t for t in text):
                relative = path.relative_to(package.parent)
                found.append(f"{relative}:{node.lineno} {node.name}: {length} lines")
    return found


def test_every_module_has_a_room():
    for module in import_graph():
        room_of(module)


def test_no_module_imports_a_room_above_its_own():
    upward = upward_imports(import_graph())
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def test_no_import_cycle():
    cycles = import_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_function_does_a_whole_stage():
    found = long_functions()
    assert not found, (
        f"functions longer than {MAX_FUNCTION_LINES} lines (split them into named steps, or "
        f"say why in a '{LONG_ON_PURPOSE}' comment):\n" + "\n".join(found)
    )


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A package named like ours with two rooms, for planting faults in."""
    package = tmp_path / "intent_model"
    for room in ("io", "scoring"):
        (package / room).mkdir(parents=True)
        (package / room / "__init__.py").write_text("")
    return package


def test_the_checks_catch_an_upward_import(planted):
    (planted / "io" / "read.py").write_text("def f():\n    from intent_model.scoring import out\n")
    (planted / "scoring" / "out.py").write_text("x = 1\n")
    assert (
        "intent_model.io.read (intent_model.io) imports intent_model.scoring.out "
        "(intent_model.scoring)"
    ) in upward_imports(import_graph(planted))


def test_the_checks_catch_a_cycle_and_a_long_function(planted):
    (planted / "scoring" / "a.py").write_text("from intent_model.scoring import b\n")
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES + 1))
    (planted / "scoring" / "b.py").write_text(
        f'import intent_model.scoring.a\n\n\ndef f():\n    """Doc."""\n{body}'
    )
    assert import_cycles(import_graph(planted)) == [
        ["intent_model.scoring.a", "intent_model.scoring.b", "intent_model.scoring.a"]
    ]
    assert long_functions(planted) == [
        f"intent_model/scoring/b.py:4 f: {MAX_FUNCTION_LINES + 1} lines"
    ]
