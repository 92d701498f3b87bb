"""The few-labels study: does adding GAN images help a classifier trained on N real images a class?

For each N of `few_labels.ns` (0 = all), on the prepared data of `data.size` / `study.split`:
1. a nested seeded subset of N training images per class (`mri_gan/data/subsets.py`), scored on
   the parent's whole test split; validation comes from the N (classifier.val_fraction);
2. one GAN per class trained on those N images only, for `gan_epochs` passes over them (capped at
   train.kimg), keeping the best in-training measurement (train.best_by) and stopping early after
   train.patience measurements without improvement. The quality reference is the N training
   images themselves (the only reals the GAN may see; the copy threshold is calibrated on them).
   With `study.gan: conditional`, one conditional GAN per N instead, trained on every class's N
   images for `gan_epochs` passes over all of them (capped at train.kimg), each class measured
   against its own N images and the best snapshot chosen by the worst class;
3. synthetic sets per (selection rule, ratio): ratio x N images per class, chosen by synth.select
   (from a conditional GAN: each class drawn and selected on its own, against that class);
4. classifier arms with paired seeds (seed s: the same validation part and initial weights in every
   arm): real, classic (on-the-fly augmentation), real + synthetic, classic + synthetic; with the
   paper's CNN, and with the strong recipe at `strong_ns`. With classifier.synthetic_share < 1 the
   synthetic arms train on their fakes for that share of their epochs, then on the real images
   alone (their cells are named `...-first<share>`). The arms with classic augmentation take
   few_labels.classic_epochs / classic_lr / classic_lr_schedule, with either recipe.
Everything is resumable: a finished subset, GAN, synthetic set or classifier seed is kept. A
classifier cell whose saved settings differ from this run's (another schedule, model, ...) is
trained again from the start, and the log says which key differed; asking for more seeds adds
seeds to a finished cell.

Layout of OUT:
    prep/s<size>-<split>/   subsets/n<N>/   gan/n<N>/<class>/ (conditional: gan/n<N>/conditional/)
    syn/n<N>/<rule>-r<ratio>/<class>/
    clf/n<N>/<recipe>/<arm>[-<rule>-r<ratio>[-first<share>]]/   few_labels.json   few_labels.md   few_labels.png   config.yaml
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

from mri_gan.errors import MriGanError
from mri_gan.experiments.few_labels_report import cell_name, step_factor
from mri_gan.experiments.layout import conditional_study
from mri_gan.utils import read_json, write_json

ARMS = ("real", "classic", "synthetic", "classic+synthetic")


def n_name(n: int) -> str:
    return "all" if n == 0 else str(n)


def syn_name(rule: str, ratio: float) -> str:
    return f"{rule}-r{ratio:g}"


def scaled_epochs(epochs: list[int], factor: float) -> list[int]:
    """An epoch list stretched by `factor`: each count times factor, rounded half up, at least 1."""
    return sorted({max(1, math.floor(e * factor + 0.5)) for e in epochs})


def gan_kimg(fl_cfg, train_cfg, n_images: int) -> float:
    """The GAN budget for `n_images` (one class's, or every class's for a conditional GAN):
    gan_epochs passes, capped at train.kimg."""
    kimg = fl_cfg.gan_epochs * n_images / 1000.0
    return float(min(kimg, train_cfg.kimg)) if train_cfg.kimg > 0 else float(kimg)


def check_config(cfg) -> None:
    f = cfg.few_labels
    if not f.ns or any(n < 0 for n in f.ns):
        raise MriGanError(f"few_labels.ns must list images per class >= 0 (0 = all), got {f.ns}")
    bad = [a for a in f.arms if a not in ARMS]
    if bad or not f.arms:
        raise MriGanError(f"few_labels.arms: unknown arm {bad[0] if bad else '(none)'}; choose from {', '.join(ARMS)}")
    if f.seeds < 2 or f.seeds_all < 2:
        raise MriGanError("few_labels.seeds and few_labels.seeds_all must be >= 2 (a paired interval needs two seeds)")
    if not f.ratios or any(r <= 0 for r in f.ratios):
        raise MriGanError(f"few_labels.ratios must be positive, got {f.ratios}")
    from mri_gan.gans.selection import check_rule

    for rule in f.selections:
        check_rule(rule, cfg.synth.oversample if rule != "none" else 1, cfg.synth.select_threshold)
    if f.gan_epochs <= 0:
        raise MriGanError(f"few_labels.gan_epochs must be > 0, got {f.gan_epochs}")
    from mri_gan.experiments.layout import check_study_gan

    check_study_gan(cfg)


class FewLabels:
    """Runs the study into OUT; `log` takes one progress line per step."""

    def __init__(self, cfg, data_root, out, log=None):
        check_config(cfg)
        self.cfg = cfg
        self.f = cfg.few_labels
        self.data_root = Path(data_root)
        self.out = Path(out)
        self.log = log or (lambda msg: None)
        self.size = int(cfg.data.size)
        self.conditional = conditional_study(cfg)

    # -- units ---------------------------------------------------------------------------------
    def prep(self) -> Path:
        from mri_gan.data.pipeline import read_prepared_info
        from mri_gan.data.prepare import run_prepare

        p = self.out / "prep" / f"s{self.size}-{self.cfg.study.split}"
        if (self.data_root / "prepare.json").is_file():  # already a prepared dir: use it as is
            info = read_prepared_info(self.data_root)
            if int(info["size"]) != self.size:
                raise MriGanError(f"{self.data_root} is prepared at {info['size']} px, the config asks for {self.size}")
            return self.data_root
        cfg = copy.deepcopy(self.cfg)
        cfg.data.split = self.cfg.study.split
        self.log(f"prepare {self.data_root} at {self.size} px ({cfg.data.split} split)")
        run_prepare(self.data_root, p, cfg)
        return p

    def subset(self, prep: Path, n: int) -> Path:
        from mri_gan.data.subsets import write_subset

        if n == 0:
            return prep
        out = self.out / "subsets" / f"n{n}"
        write_subset(prep, out, n, self.f.subset_seed)
        return out

    def gans(self, sub: Path, n: int, classes: list[str]) -> dict[str, Path]:
        """{class: the GAN run that makes it}: one run per class, or (study.gan conditional) one
        conditional run for every class, trained for gan_epochs passes over the images of all."""
        base = self.out / "gan" / f"n{n_name(n)}"
        if self.conditional:
            self._fit(sub, n, base / "conditional", "all", classes)
            return {cls: base / "conditional" for cls in classes}
        for cls in classes:
            self._fit(sub, n, base / cls, cls, [cls])
        return {cls: base / cls for cls in classes}

    def _fit(self, sub: Path, n: int, run: Path, label: str, classes: list[str]) -> None:
        """Train (or continue) one GAN of the study on `classes` of the subset, unless done."""
        from mri_gan.data.pipeline import list_split
        from mri_gan.gans.fit import run_fit

        if (run / "done.json").is_file():
            return
        images = len(list_split(sub, "train", classes)[0])
        cfg = copy.deepcopy(self.cfg)
        cfg.gan.conditional = self.conditional
        cfg.train.kimg = gan_kimg(self.f, self.cfg.train, images)
        cfg.train.batch_size = min(cfg.train.batch_size, max(1, images // 2))
        what = f"conditional ({', '.join(classes)})" if self.conditional else label
        self.log(f"fit {what}, N={n_name(n)} ({images} images, {cfg.train.kimg:g} kimg, patience {cfg.train.patience})")
        t0 = time.perf_counter()
        summary = run_fit(sub, label, run, cfg, resume=(run / "run.json").is_file(), verbose=0)
        done = {"seconds": round(time.perf_counter() - t0, 1), "kimg": cfg.train.kimg, "epochs": summary.get("epochs"),
                "images": images}
        write_json(run / "done.json", done | ({"classes": list(classes)} if self.conditional else {}))

    def synthetic(self, sub: Path, n: int, runs: dict[str, Path], rule: str, ratio: float) -> list[Path]:
        from mri_gan.data.pipeline import list_split
        from mri_gan.gans.synthesis import Selection, synthesize

        dirs = []
        for cls, run in runs.items():
            out = self.out / "syn" / f"n{n_name(n)}" / syn_name(rule, ratio) / cls
            dirs.append(out)
            if (out / "manifest.csv").is_file():
                continue
            k = max(1, int(round(ratio * len(list_split(sub, "train", [cls])[0]))))
            self.log(f"synthesize {k} {cls} (select {rule}), N={n_name(n)}")
            sel = Selection(rule, self.cfg.synth.oversample if rule != "none" else 1, self.cfg.synth.select_threshold)
            synthesize(run, out, k, seed=self.cfg.synth.seed, batch_size=self.cfg.synth.batch_size,
                       class_name=cls if self.conditional else None, checkpoint=self.cfg.synth.checkpoint,
                       overwrite=True, selection=sel)
        return dirs

    def copy_rate(self, sub: Path, syn_dirs: list[Path]) -> dict:
        """Copy audit of the fakes used (each class against its N training images), cached."""
        from mri_gan.data.pipeline import list_images, list_split, load_uint8
        from mri_gan.metrics.memorization import memorization

        out = syn_dirs[0].parent / "copies.json"
        if out.is_file():
            return read_json(out)
        res, total, copies = {}, 0, 0.0
        for d in syn_dirs:
            files = list_images(d / d.name)
            if not files:  # a selection rule kept none of this class's candidates
                res[d.name] = {"copy_rate": None, "n": 0}
                continue
            fake = load_uint8(files)
            real = load_uint8(list_split(sub, "train", [d.name])[0])
            m = memorization(fake, real, self.cfg.eval, show_progress=False)
            res[d.name] = {"copy_rate": m["copy_rate"], "n": len(fake), "threshold_ssim": m["copy_threshold_ssim"],
                           "nearest_train_ssim_mean": m["nearest_train_ssim"]["mean"]}
            total += len(fake)
            copies += m["copy_rate"] * len(fake)
        res["all"] = {"copy_rate": copies / max(total, 1), "n": total}
        write_json(out, res)
        return res

    def classify(self, sub: Path, n: int, recipe: str, arm: str, syn_dirs=(), syn_tag: str = "",
                 factor: float = 1.0) -> Path:
        """One classifier cell; `factor` > 1 (an arm without fakes under few_labels.equal_steps)
        stretches its epoch list so it takes as many optimizer steps as the arms with fakes."""
        from mri_gan.classifier.train import run_classify
        from mri_gan.config import _apply_preset
        from mri_gan.classifier.record import classifier_done, settings_differ

        name = cell_name(arm, syn_tag, self.cfg.classifier.synthetic_share, factor)
        out = self.out / "clf" / f"n{n_name(n)}" / recipe / name
        cfg = copy.deepcopy(self.cfg)
        c = cfg.classifier
        if recipe == "strong":  # the strong recipe augments as part of itself: its "real" arm is the recipe without it
            _apply_preset(c, "strong")
        classic = arm.startswith("classic")
        c.augment = c.augment_intensity = classic
        if classic:  # the arms with classic augmentation learn slower: they may have their own schedule
            c.lr = self.f.classic_lr or c.lr
            c.epochs = list(self.f.classic_epochs or c.epochs)
            c.lr_schedule = self.f.classic_lr_schedule or c.lr_schedule
        if factor > 1:
            c.epochs = scaled_epochs(c.epochs, factor)
        c.seeds = self.f.seeds if n else self.f.seeds_all
        if classifier_done(out, cfg):
            return out
        why = settings_differ(out, cfg) if (out / "results.json").is_file() else ""
        self.log(f"classify {recipe} {name}, N={n_name(n)}, {c.seeds} seeds"
                 + (f" (trained again: {why})" if why else ""))
        run_classify(sub, out, cfg, synthetic_dirs=list(syn_dirs), overwrite=True, resume=True, verbose=0)
        return out

    # -- driver --------------------------------------------------------------------------------
    def baseline_factor(self, n: int, synthetic_arms: list[str]) -> float:
        """The epoch stretch of the arms without fakes (few_labels.equal_steps): the step factor of
        the arms with fakes at this N's first ratio; 1 without them or without equal steps."""
        if not (self.f.equal_steps and synthetic_arms):
            return 1.0
        return step_factor(self.cfg.classifier.synthetic_share, self.plan(n)[0][1])

    def plan(self, n: int) -> list[tuple[str, float]]:
        """The (selection rule, ratio) synthetic sets made at this N."""
        f = self.f
        rules = f.selections if n in f.selection_ns else f.selections[:1]
        ratios = f.ratios if n in f.ratio_ns else f.ratios[:1]
        return [(rules[0], r) for r in ratios] + [(rule, ratios[0]) for rule in rules[1:]]

    def run(self) -> dict:
        from mri_gan.data.pipeline import read_prepared_info

        self.out.mkdir(parents=True, exist_ok=True)
        self.cfg.save(self.out / "config.yaml")
        prep = self.prep()
        classes = sorted(read_prepared_info(prep)["classes"])
        synthetic_arms = [a for a in self.f.arms if "synthetic" in a]
        for n in self.f.ns:
            t0 = time.perf_counter()
            sub = self.subset(prep, n)
            recipes = ["paper"] + (["strong"] if n in self.f.strong_ns else [])
            factor = self.baseline_factor(n, synthetic_arms)
            for recipe in recipes:
                for arm in [a for a in self.f.arms if "synthetic" not in a]:
                    self.classify(sub, n, recipe, arm, factor=factor)
            if synthetic_arms:
                runs = self.gans(sub, n, classes)
                for rule, ratio in self.plan(n):
                    dirs = self.synthetic(sub, n, runs, rule, ratio)
                    self.copy_rate(sub, dirs)
                    for recipe in recipes:
                        for arm in synthetic_arms:
                            self.classify(sub, n, recipe, arm, dirs, syn_name(rule, ratio))
            self._timing(n, time.perf_counter() - t0)
            self.report()
        return self.report()

    def _timing(self, n: int, seconds: float) -> None:
        p = self.out / "timing.json"
        t = read_json(p) if p.is_file() else {}
        t[n_name(n)] = round(t.get(n_name(n), 0.0) + seconds, 1)
        write_json(p, t)

    def report(self) -> dict:
        from mri_gan.experiments.few_labels_report import collect, write_report

        table = collect(self.out, self.f)
        write_report(self.out, table, self.cfg)
        return table


def run_few_labels(cfg, data_root, out, log=None) -> dict:
    """Run (or continue) the few-labels study of `cfg` on DATA_ROOT (raw or prepared) into OUT."""
    from mri_gan.backend import keep_tensorflow_out

    if not Path(data_root).is_dir():
        raise MriGanError(f"data root not found: {data_root}")
    keep_tensorflow_out()
    return FewLabels(cfg, data_root, out, log).run()
