"""The import graph of src/gankit: no module imports, directly or through others, one that imports it back, and
none imports from a layer above its own. Every import counts, a function's or a type checker's included: a
dependency a type annotation needs is still a dependency."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

import gankit

SRC = Path(gankit.__file__).parent

# Bottom first. A module belongs to the layer of the longest prefix that names it or its package; it may import
# from its own layer and the layers below. Plain "gankit" is the package's __init__ alone.
LAYERS = [
    (
        "gankit.errors",
        "gankit.version",
        "gankit.typecheck",
        "gankit.registry",
        "gankit.seeds",
        "gankit.legacy_config",
        "gankit.repeatable",
    ),
    ("gankit.runs",),  # run folders and the files in them
    ("gankit.data",),
    ("gankit.models", "gankit.losses", "gankit.augment", "gankit.viz"),  # components (viz draws data)
    ("gankit.sample",),  # a trained generator, loaded and sampled
    ("gankit.metrics",),  # judges samples
    ("gankit.training.optim", "gankit.training.config"),  # the loop's own config sections and their registry
    ("gankit.config", "gankit.config_files"),  # composes every package's section into one RunConfig
    ("gankit.training",),  # the loop, built from a RunConfig
    (
        "gankit.train",
        "gankit.evaluate",
        "gankit.export",
        "gankit.onnx_export",
        "gankit.invert",
        "gankit.report",
        "gankit.walks",
        "gankit.audit",
    ),  # the API functions
    ("gankit.utility",),  # studies that train and judge
    ("gankit", "gankit.commands", "gankit.cli", "gankit.__main__"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The gankit modules `name` imports anywhere in its file (absolute or relative)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


@functools.cache
def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def layer_of(name: str) -> int | None:
    best, layer = -1, None
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            match = name == prefix or (prefix != "gankit" and name.startswith(prefix + "."))
            if match and len(prefix) > best:
                best, layer = len(prefix), i
    return layer


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checks_see_a_cycle_and_a_layer_breach():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert layer_of("gankit.data.idx") < layer_of("gankit.config") < layer_of("gankit.training.builder")
    assert layer_of("gankit.training.config") < layer_of("gankit.config")
    assert layer_of("gankit.training.configs") == layer_of("gankit.training")  # a prefix is a whole name
    assert layer_of("gankit") == len(LAYERS) - 1 and layer_of("gankit.unknown") is None


def test_imports_are_read_from_every_form(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(
        "import gankit.data.idx as idx\nfrom gankit.models import dcgan\nfrom . import errors\n"
        "def f():\n    from gankit.config import RunConfig\n"
        "if False:\n    from ..metrics import names\n"
    )
    known = {"gankit.data.idx", "gankit.models", "gankit.models.dcgan", "gankit.config", "gankit.errors"}
    known |= {"gankit.metrics.names", "gankit.metrics"}
    got = imports_of("gankit.training.m", path, known)
    assert got == {"gankit.data.idx", "gankit.models", "gankit.models.dcgan", "gankit.config", "gankit.metrics",
                   "gankit.metrics.names"}  # fmt: skip
    # `from . import errors` in gankit.training.m is gankit.training.errors, which does not exist
    assert "gankit.errors" not in got


def test_the_package_imports_no_module_that_imports_it_back():
    assert cycles(graph()) == [], "import cycles among gankit modules: break them (see LAYERS)"


def test_every_module_has_a_layer():
    missing = [name for name in modules() if layer_of(name) is None]
    assert not missing, f"add these modules to LAYERS in tests/test_import_layers.py: {missing}"


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_imports_from_a_layer_above_its_own(name):
    edges = graph()[name]
    above = sorted(t for t in edges if layer_of(t) is not None and layer_of(t) > layer_of(name))
    assert not above, f"{name} (layer {layer_of(name)}) imports from higher layers: {above}"


def test_the_version_is_the_projects():
    path = SRC.parent.parent / "pyproject.toml"
    if not path.exists():
        pytest.skip("gankit is installed without its source tree here, so there is no pyproject.toml to compare")
    pyproject = path.read_text()
    declared = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert gankit.__version__ == declared
