"""The house rules, read from the code itself (imports and definitions, nothing is run): which
modules may import what, and how large a module or a function may grow."""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "assistant"


@cache
def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(name: str) -> set[str]:
    """The modules `name` imports (`from a import b` counts as a.b when a.b is a module), also those
    imported inside functions (lazy imports are imports too)."""
    path = modules()[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(
                f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules()
            )
    return found


def concrete_backends() -> set[str]:
    protocols_and_factory = {"assistant.backends", "assistant.backends.base", "assistant.backends.factory"}
    return {m for m in modules() if m.startswith("assistant.backends.") and m not in protocols_and_factory}


def test_the_module_list_is_complete() -> None:
    assert {"assistant.service", "assistant.backends.factory", "assistant.interfaces.cli"} <= set(modules())
    assert "assistant.backends.index_chroma" in concrete_backends()


def test_only_the_factory_imports_a_concrete_backend() -> None:
    # Modules of backends/ may use each other (the embedded LLM its model store); everything else
    # types against the protocols in backends/base.py and gets its backends from the factory.
    offenders = {
        name: sorted(imports_of(name) & concrete_backends())
        for name in modules()
        if not name.startswith("assistant.backends.")
    }
    assert {name: found for name, found in offenders.items() if found} == {}
    assert concrete_backends() & imports_of("assistant.backends.factory")  # the check can see imports


def test_nothing_imports_the_interfaces() -> None:
    # The console script (assistant.interfaces.cli:main, in pyproject.toml) is the only way in.
    offenders = {
        name: sorted(
            i
            for i in imports_of(name)
            if i == "assistant.interfaces" or i.startswith("assistant.interfaces.")
        )
        for name in modules()
        if not name.startswith("assistant.interfaces")
    }
    assert {name: found for name, found in offenders.items() if found} == {}
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"assistant": "assistant.interfaces.cli:main"}


def _limits() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    limits: dict[str, object] = config["tool"]["house-rules"]
    return limits


def _pending() -> set[Path]:
    pending = _limits()["split-pending"]
    assert isinstance(pending, list)
    paths = {ROOT / str(p) for p in pending}
    assert all(p.is_file() for p in paths), "a split-pending file is gone: drop it from the list"
    return paths


def test_no_module_is_longer_than_the_limit() -> None:
    limit = _limits()["max-module-lines"]
    assert isinstance(limit, int)
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in modules().values()
        if path not in _pending() and (lines := len(path.read_text(encoding="utf-8").splitlines())) > limit
    }
    assert too_long == {}


def test_no_function_is_longer_than_the_limit() -> None:
    limit = _limits()["max-function-lines"]
    assert isinstance(limit, int)
    too_long = {}
    for path in modules().values():
        if path in _pending():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    too_long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = lines
    assert too_long == {}
