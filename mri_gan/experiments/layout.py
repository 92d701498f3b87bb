"""Where a study keeps everything, and which units it is made of: the one description that the
study (which makes them) and the report (which reads them) share.

Layout of DIR:
    config.yaml  study.json  audit.json  stages/
    prep/s<size>-<split>/            prepared data (one per size and split)
    gan/s<size>/<class>/             one GAN per class (or gan/s<size>/conditional/: study.gan conditional)
    syn/s<size>/n<N>/<class>/        synthetic sets (synthesize output: <class>/ + manifest.csv)
    eval/s<size>/n<N>/<class>.json   evaluation of each synthetic set
    clf/s<size>/<split>/real|n<N>|tstr-n<N>/   classifier runs
    compare/s<size>/                 baselines (Table VI)
    tables/  figures/  report.md  report.html
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mri_gan.config_values import CHOICES
from mri_gan.errors import MriGanError


@dataclass
class StudyPaths:
    root: Path

    def prep(self, size: int, split: str) -> Path:
        return self.root / "prep" / f"s{size}-{split}"

    def gan(self, size: int, name: str) -> Path:
        return self.root / "gan" / f"s{size}" / name

    def syn(self, size: int, n: int, cls: str) -> Path:
        return self.root / "syn" / f"s{size}" / f"n{n}" / cls

    def eval(self, size: int, n: int, cls: str) -> Path:
        return self.root / "eval" / f"s{size}" / f"n{n}" / f"{cls}.json"

    def clf(self, size: int, split: str, name: str) -> Path:
        return self.root / "clf" / f"s{size}" / split / name

    def compare(self, size: int) -> Path:
        return self.root / "compare" / f"s{size}"

    def stage(self, name: str) -> Path:
        return self.root / "stages" / f"{name}.json"


STUDY_GANS = CHOICES["study.gan"]  # per_class | conditional


def conditional_study(cfg) -> bool:
    """One conditional GAN for every class instead of one GAN per class: `study.gan: conditional`,
    or `gan.conditional: true` (which the tables design has always read that way)."""
    return cfg.study.gan == "conditional" or bool(cfg.gan.conditional)


def check_study_gan(cfg) -> None:
    """One-line error for a `study.gan` the GAN kind cannot train."""
    from mri_gan.gans.factory import CONDITIONAL_KINDS

    if cfg.study.gan not in STUDY_GANS:
        raise MriGanError(f"study.gan must be one of {' | '.join(STUDY_GANS)}, got {cfg.study.gan!r}")
    if cfg.study.gan == "conditional" and cfg.gan.kind not in CONDITIONAL_KINDS:
        raise MriGanError(f"study.gan: conditional needs a gan.kind with a conditional form "
                          f"({', '.join(CONDITIONAL_KINDS)}), not {cfg.gan.kind!r}")


def n_for_class(cfg, cls: str, row: int) -> int:
    """Synthetic images for `cls` in row `row` of Table III (notumor has its own row values)."""
    if cls == "notumor" and cfg.study.n_synthetic_notumor:
        return cfg.study.n_synthetic_notumor[row]
    return cfg.study.n_synthetic[row]


def synthetic_rows(cfg) -> list[int]:
    """Row ids of Table III: index into n_synthetic; the row's name is its tumour count."""
    if cfg.study.n_synthetic_notumor and len(cfg.study.n_synthetic_notumor) != len(cfg.study.n_synthetic):
        raise MriGanError("study.n_synthetic_notumor must have as many entries as study.n_synthetic")
    return list(range(len(cfg.study.n_synthetic)))


class StudyLayout:
    """A study's config, data root and directory, and the units they imply (GAN runs, synthetic
    sets, classifier runs), with where each lives."""

    def __init__(self, cfg, data_root: str | Path, out: str | Path):
        self.cfg = cfg
        self.data_root = Path(data_root)
        self.paths = StudyPaths(Path(out))

    def gan_classes(self, size: int) -> list[str]:
        from mri_gan.data.pipeline import read_prepared_info

        classes = read_prepared_info(self.paths.prep(size, self.cfg.study.split))["classes"]
        wanted = self.cfg.study.gan_classes or classes
        missing = [c for c in wanted if c not in classes]
        if missing:
            raise MriGanError(f"study.gan_classes: {missing[0]!r} is not a class of the data ({', '.join(classes)})")
        return list(wanted)

    def gan_runs(self, size: int) -> list[tuple[str, Path, list[str]]]:
        """(class or 'conditional', run dir, classes it makes)."""
        classes = self.gan_classes(size)
        if conditional_study(self.cfg):
            return [("conditional", self.paths.gan(size, "conditional"), classes)]
        return [(c, self.paths.gan(size, c), [c]) for c in classes]

    def synthetic_units(self):
        """(size, GAN name, run dir, row name, n images, class) of every synthetic set (Table III cells)."""
        for size in self.cfg.study.sizes:
            for name, run, classes in self.gan_runs(size):
                for row in synthetic_rows(self.cfg):
                    for cls in classes:
                        yield size, name, run, self.cfg.study.n_synthetic[row], n_for_class(self.cfg, cls, row), cls

    def splits_needed(self) -> list[str]:
        splits = [self.cfg.study.split]
        if self.cfg.study.classify:
            splits += [s for s in self.cfg.study.real_splits if s not in splits]
        return splits

    def classifier_runs(self) -> list[tuple[int, str, str, Path, bool]]:
        """(size, split, training label, run dir, synthetic only) of every classifier run the study makes."""
        s = self.cfg.study
        out = []
        for size in s.sizes:
            for split in s.real_splits:
                out.append((size, split, "real", self.paths.clf(size, split, "real"), False))
            for row in synthetic_rows(self.cfg):
                name = s.n_synthetic[row]
                out.append((size, s.split, f"real+syn n{name}", self.paths.clf(size, s.split, f"n{name}"), False))
                if s.tstr:
                    out.append((size, s.split, f"syn-only n{name}", self.paths.clf(size, s.split, f"tstr-n{name}"), True))
        return out
