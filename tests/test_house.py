"""The code stays in a shape a newcomer can read: the GAN model is small, and no function takes
a long list of parameters (group them into a dataclass, as `FitRun`, `GanSettings` or
`SynthOptions` do)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_GAN_LINES = 250
MAX_PARAMETERS = 8  # self / cls not counted; *args and **kwargs count one each


def _parameters(node) -> list[str]:
    a = node.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += [f"*{a.vararg.arg}"] if a.vararg else []
    names += [f"**{a.kwarg.arg}"] if a.kwarg else []
    return names[1:] if names[:1] in (["self"], ["cls"]) else names


def test_gan_model_is_small():
    lines = len((ROOT / "mri_gan" / "gans" / "gan.py").read_text().splitlines())
    assert lines <= MAX_GAN_LINES, f"mri_gan/gans/gan.py has {lines} lines (at most {MAX_GAN_LINES})"


def test_no_function_takes_more_than_eight_parameters():
    too_many = []
    for path in sorted((ROOT / "mri_gan").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                names = _parameters(node)
                if len(names) > MAX_PARAMETERS:
                    where = f"{path.relative_to(ROOT)}:{node.lineno} {getattr(node, 'name', 'lambda')}"
                    too_many.append(f"{where} ({len(names)}: {', '.join(names)})")
    assert not too_many, "more than 8 parameters:\n" + "\n".join(too_many)


def test_the_check_counts_parameters_as_described():
    tree = ast.parse("class A:\n    def m(self, a, b, *c, d, **e): pass\ndef f(a, /, b=1): pass\n")
    counts = {n.name: len(_parameters(n)) for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert counts == {"m": 5, "f": 2}
