"""imukin's layers point down: every module imports only from its own layer or below.

Every module under ``src/imukin`` is parsed with :mod:`ast`; all its imports count, those
inside functions too. The layers are :data:`LAYERS`, lowest first; docs/architecture.md shows
the same table and says what each layer is for (:func:`test_docs_page_lists_the_layers`
keeps the two equal).

Besides the direction of the arrows:

* only the ``cli`` layer imports :mod:`argparse`;
* the torch-free modules (layers 0-2, ``sources``, ``preprocessing``, ``argtypes``) import
  neither torch nor an imukin module that is not torch-free, so reading, harmonising and
  simulating data never loads torch;
* no module imports a private name (``_name``) of another imukin module.
"""
from __future__ import annotations

import ast
import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "imukin"
DOCS_PAGE = ROOT / "docs" / "architecture.md"

#: (layer name, module patterns), lowest layer first. A pattern is a module path below
#: ``imukin`` (``""`` is the package itself); ``pkg.*`` means ``pkg`` and everything in it,
#: ``*_cli`` and ``*.cli`` any module so named. A module takes the highest layer it matches.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("_version", "errors", "conventions")),
    ("core", ("io.*", "signal", "rotations", "normalization", "data", "workers", "pretrained")),
    ("simulation", ("simulation.*",)),
    ("processing", ("sources.*", "preprocessing.*", "models.*")),
    ("learning", ("training.*", "inference", "predictor", "export")),
    ("fusion", ("fusion.*",)),
    ("evaluation", ("evaluation.*",)),
    ("api", ("api", "streaming", "")),
    ("cli", ("cli", "__main__", "demo", "argtypes", "*_cli", "*.cli", "training.pretrained")),
)
CLI_LAYER = "cli"
#: Modules that never load torch, directly or through another imukin module.
TORCH_FREE = ("_version", "errors", "conventions", "io.*", "signal", "rotations", "normalization", "data",
              "workers", "pretrained", "simulation.*", "sources.*", "preprocessing.*", "argtypes")


def _relative(module: str) -> str:
    """``imukin.io.c3d`` -> ``io.c3d``; the package itself -> ``""``."""
    return module[len("imukin."):] if module.startswith("imukin.") else ""


def _matches(module: str, pattern: str) -> bool:
    rel = _relative(module)
    if pattern.endswith(".*"):
        return rel == pattern[:-2] or rel.startswith(pattern[:-1])
    if "*" in pattern:
        return fnmatch.fnmatchcase(rel, pattern)
    return rel == pattern


def layer_of(module: str) -> int:
    """Rank of ``module``'s layer (0 lowest); the highest layer whose patterns match it."""
    for rank in range(len(LAYERS) - 1, -1, -1):
        if any(_matches(module, p) for p in LAYERS[rank][1]):
            return rank
    raise AssertionError(f"{module} is in no layer; add it to LAYERS in tests/test_layers.py "
                         "and to docs/architecture.md")


def torch_free(module: str) -> bool:
    """Whether ``module`` is one of :data:`TORCH_FREE`."""
    return any(_matches(module, p) for p in TORCH_FREE)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@dataclass(frozen=True)
class Import:
    """One imported module (and, for ``from`` imports, one imported name) at a line of a file."""

    source: str  # importing module
    line: int
    target: str  # imported module, absolute
    name: str | None = None  # the name taken from it (``from target import name``), else None

    def where(self) -> str:
        return f"{MODULES[self.source].relative_to(ROOT)}:{self.line}"


def imports_of(module: str) -> list[Import]:
    """Every import statement of a module, at any depth, with relative imports resolved."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [Import(module, node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in MODULES:  # ``from imukin import export``: the module imukin.export
                    out.append(Import(module, node.lineno, sub))
                else:
                    out.append(Import(module, node.lineno, target, a.name))
    return out


def _imukin(target: str) -> str | None:
    """The imukin module an import reaches (``imukin.models.cnn.CNN`` style paths cut to a module)."""
    if target != "imukin" and not target.startswith("imukin."):
        return None
    while target not in MODULES:
        target = target.rpartition(".")[0]
    return target


ALL_IMPORTS = [imp for m in MODULES for imp in imports_of(m)]


def _report(lines: list[str], what: str) -> str:
    return f"{len(lines)} {what}:\n  " + "\n  ".join(lines)


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)  # raises for a module in no layer
    assert {"imukin.signal", "imukin.conventions", "imukin.api", "imukin.cli"} <= set(MODULES)


def test_imports_point_down():
    bad = []
    for imp in ALL_IMPORTS:
        target = _imukin(imp.target)
        if target is None:
            continue
        src, dst = layer_of(imp.source), layer_of(target)
        if dst > src:
            bad.append(f"{imp.where()}: {imp.source} ({LAYERS[src][0]}) -> {target} ({LAYERS[dst][0]})")
    assert not bad, _report(bad, "imports of a higher layer")


def test_only_the_cli_layer_uses_argparse():
    bad = [f"{imp.where()}: {imp.source} imports argparse" for imp in ALL_IMPORTS
           if imp.target.split(".")[0] == "argparse" and LAYERS[layer_of(imp.source)][0] != CLI_LAYER]
    assert not bad, _report(bad, "library modules importing argparse")


def test_torch_free_modules_stay_torch_free():
    bad = []
    for imp in ALL_IMPORTS:
        if not torch_free(imp.source):
            continue
        target = _imukin(imp.target)
        if imp.target.split(".")[0] == "torch":
            bad.append(f"{imp.where()}: {imp.source} -> {imp.target}")
        elif target is not None and not torch_free(target):
            bad.append(f"{imp.where()}: {imp.source} -> {target} (which may load torch)")
    assert not bad, _report(bad, "torch imports in torch-free modules")


def test_no_private_names_cross_modules():
    bad = []
    for imp in ALL_IMPORTS:
        target = _imukin(imp.target)
        name = imp.name or ""
        if target is not None and target != imp.source and name.startswith("_") and not name.startswith("__"):
            bad.append(f"{imp.where()}: {imp.source} takes {name} from {target}")
    assert not bad, _report(bad, "private names imported from another module")


def _docs_layers() -> list[tuple[str, tuple[str, ...]]]:
    """The layer table of docs/architecture.md: rows ``| rank | layer | `a`, `b` ... |``."""
    rows = []
    for line in DOCS_PAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            rows.append((cells[1], tuple(re.findall(r"`([^`]*)`", cells[2]))))
    return rows


def test_docs_page_lists_the_layers():
    assert _docs_layers() == [(name, tuple(p or "imukin" for p in pats)) for name, pats in LAYERS]


@pytest.mark.parametrize("module, layer", [
    ("imukin.preprocessing.cli", "cli"), ("imukin.preprocessing.align", "processing"), ("imukin.predict_cli", "cli"),
    ("imukin", "api"), ("imukin.io.job_h5", "core"), ("imukin.training.pretrained", "cli"),
    ("imukin.training.trainer", "learning")])
def test_layer_table_places_modules(module, layer):
    assert LAYERS[layer_of(module)][0] == layer


def test_imports_inside_functions_count():
    cli = imports_of("imukin.cli")
    assert any(imp.target == "imukin.demo" for imp in cli)  # imported inside cmd_demo only
    assert all(_imukin(imp.target) in MODULES for imp in cli if imp.target.startswith("imukin"))
