"""No import cycle inside `mri_gan` (imports inside functions included: a lazy import that closes
a cycle still ties two modules together), and the report reads the study only through its layout."""

from __future__ import annotations

import ast
from pathlib import Path

import mri_gan

PKG = Path(mri_gan.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    mods = {_module(p): p for p in PKG.rglob("*.py")}
    deps = {}
    for mod, path in mods.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found |= {n for n in names if n in mods and n != mod and n != "mri_gan"}
        deps[mod] = found
    return deps


def _cycles(deps):
    out = []
    for start in deps:
        stack, seen = [(d, (start, d)) for d in deps[start]], set()
        while stack:
            mod, path = stack.pop()
            if mod == start:
                out.append(" -> ".join(path))
                break
            if mod not in seen:
                seen.add(mod)
                stack += [(d, path + (d,)) for d in deps.get(mod, ())]
    return out


def test_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert not _cycles({"a": {"b"}, "b": {"c"}, "c": set()})


def test_no_import_cycle_in_mri_gan():
    deps = _imports()
    # the walk reaches every stage (a broken walk would find no cycle in nothing)
    assert {"mri_gan.gans.fit", "mri_gan.gans.synthesis", "mri_gan.classifier.train",
            "mri_gan.experiments.study", "mri_gan.metrics.evaluate"} <= set(deps)
    assert "mri_gan.gans.checkpoint" in deps["mri_gan.gans.fit"]
    assert _cycles(deps) == []


def test_report_reads_the_layout_not_the_study():
    deps = _imports()
    assert "mri_gan.experiments.study" not in deps["mri_gan.experiments.report"]
    assert "mri_gan.experiments.layout" in deps["mri_gan.experiments.study"]
