"""The companion's layers: which package may import which, and no import cycles.

Every import counts, including the ones inside functions (a lazy import is
still a dependency).  The table is CONTRIBUTING.md's; change both together.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "companion" / "twitchlog"
BASE_MODULES = {"__init__", "errors", "kinds", "timefmt", "magnesium", "resources"}

#: layer -> the layers it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "base": {"firmware"},
    "stats": {"base", "firmware"},
    "store": {"base", "firmware"},
    "intake": {"store", "base"},
    "events": {"store", "base"},
    "ble": {"store", "base", "firmware", "intake"},
    "report": {"stats", "intake", "store", "base"},
    "hw": {"base", "firmware"},
    "usb": {"store", "base", "firmware", "intake", "hw"},
    "sim": {"base", "firmware", "stats", "store", "intake", "events", "ble", "report", "hw"},
    "cli": {"base", "firmware", "stats", "store", "intake", "events", "ble", "report", "hw", "usb", "sim"},
}
#: third-party packages a layer must not use: the statistics stay pure, the terminal belongs to the CLI
FORBIDDEN_LIBRARIES: dict[str, set[str]] = {
    "stats": {"sqlite3", "bleak", "bumble", "click", "rich"},
    **{layer: {"click", "rich"} for layer in ("base", "store", "intake", "events", "ble", "report", "hw", "usb")},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in BASE_MODULES:
        return "base"
    return parts[1]


def companion_modules() -> dict[str, Path]:
    """Every companion module, without the firmware (a link to firmware/, checked by its own gates)."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "firmware" not in p.relative_to(PACKAGE).parts}


def imports_of(path: Path, module: str, modules: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """Absolute names of everything `path` imports.

    `from pkg import sub` counts as importing pkg.sub alone when sub is one of
    `modules`: the package's __init__ runs too, but that is the parent, not a dependency.
    """
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            submodules = {f"{base}.{alias.name}" for alias in node.names}
            found.update(submodules)
            if not submodules <= modules:
                found.add(base)
    return found


def graph() -> dict[str, set[str]]:
    """Import edges between companion modules (firmware imports kept as `twitchlog.firmware`)."""
    modules = companion_modules()
    edges: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = set()
        for name in imports_of(path, module, set(modules)):
            if name in modules:
                targets.add(name)
            elif name.startswith("twitchlog.firmware"):
                targets.add("twitchlog.firmware")
        edges[module] = targets - {module}
    return edges


def third_party_of(path: Path, module: str) -> set[str]:
    return {name.split(".")[0] for name in imports_of(path, module) if not name.startswith("twitchlog")}


def test_the_tree_has_the_layers():
    layers = {layer_of(m) for m in companion_modules()}
    assert layers == set(ALLOWED), layers ^ set(ALLOWED)


def test_every_import_follows_the_layer_table():
    wrong = []
    for module, targets in graph().items():
        layer = layer_of(module)
        for target in targets:
            target_layer = "firmware" if target == "twitchlog.firmware" else layer_of(target)
            if target_layer != layer and target_layer not in ALLOWED[layer]:
                wrong.append(f"{module} ({layer}) imports {target} ({target_layer})")
    assert not wrong, "\n".join(sorted(wrong))


def test_layers_keep_to_their_libraries():
    wrong = []
    for module, path in companion_modules().items():
        used = third_party_of(path, module) & FORBIDDEN_LIBRARIES.get(layer_of(module), set())
        wrong.extend(f"{module} imports {library}" for library in sorted(used))
    assert not wrong, "\n".join(wrong)


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_checks_catch_what_they_are_for():
    """The checker itself: a cycle and a forbidden edge in a made-up graph are found."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer_of("twitchlog.stats.analysis") == "stats" and layer_of("twitchlog.magnesium") == "base"
    assert "store" not in ALLOWED["stats"] and "ble" not in ALLOWED["report"]
    assert imports_of(PACKAGE / "stats" / "analysis.py", "twitchlog.stats.analysis") >= {"twitchlog.stats.effects"}
