"""The whole study from one config: audit -> prepare -> fit -> synthesize -> evaluate -> classify
-> compare -> report.

Each stage calls the same library function as its single command and writes into its own
sub-directory of the study dir; the study only arranges them. It is resumable at two levels: a
stage whose marker `stages/<name>.json` exists is skipped, and inside a stage each unit (one GAN,
one synthetic set, one classifier run) is skipped when its final artefact exists, while a
half-trained GAN continues from its last checkpoint.

Where everything lives, and which units a config implies: `mri_gan.experiments.layout`.
"""

from __future__ import annotations

import copy
import hashlib
import time
from pathlib import Path

from mri_gan.config import Config
from mri_gan.errors import MriGanError
from mri_gan.classifier.record import classifier_done
from mri_gan.experiments.layout import StudyLayout, check_study_gan, synthetic_rows
from mri_gan.utils import read_json, write_json

STAGES = ("audit", "prepare", "fit", "synthesize", "evaluate", "classify", "compare", "report")


def with_overrides(cfg: Config, **sections) -> Config:
    """A deep copy of `cfg` with `section={key: value}` changes."""
    new = copy.deepcopy(cfg)
    for section, values in sections.items():
        for k, v in values.items():
            setattr(getattr(new, section), k, v)
    return new


class Study(StudyLayout):
    """Runs the stages into the layout; `log` takes each progress line (default: none)."""

    def __init__(self, cfg: Config, data_root: str | Path, out: str | Path, log=None):
        super().__init__(cfg, data_root, out)
        self.log = log or (lambda msg: None)
        self.record: dict = {}
        # A stage is done only for the config it ran with: change a key and the stages run again
        # (their finished units are still skipped, and GANs continue from their checkpoints).
        self.config_sha = hashlib.sha256(cfg.to_yaml().encode()).hexdigest()[:16]

    # -- bookkeeping -------------------------------------------------------------------------
    def _load_record(self) -> None:
        p = self.paths.root / "study.json"
        self.record = read_json(p) if p.is_file() else {"stages": {}}

    def _save_record(self) -> None:
        write_json(self.paths.root / "study.json", self.record)

    # -- stages --------------------------------------------------------------------------------
    def stage_audit(self) -> None:
        from mri_gan.data.audit import run_audit

        out = self.paths.root / "audit.json"
        if out.is_file():
            return
        result = run_audit(self.data_root, self.cfg.data)
        write_json(out, result)

    def stage_prepare(self) -> None:
        from mri_gan.data.prepare import run_prepare

        for size in self.cfg.study.sizes:
            for split in self.splits_needed():
                cfg = with_overrides(self.cfg, data={"size": size, "split": split})
                self.log(f"prepare size {size} split {split}")
                run_prepare(self.data_root, self.paths.prep(size, split), cfg)  # a no-op when up to date

    def stage_fit(self) -> None:
        from mri_gan.gans.fit import run_fit

        for size in self.cfg.study.sizes:
            prep = self.paths.prep(size, self.cfg.study.split)
            cfg = with_overrides(self.cfg, data={"size": size})
            for name, run, _ in self.gan_runs(size):
                self.log(f"fit {name} at {size} px -> {run}")
                conditional = name == "conditional"
                run_cfg = with_overrides(cfg, gan={"conditional": True}) if conditional else cfg
                run_fit(prep, "all" if conditional else name, run, run_cfg, resume=run.exists())

    def stage_synthesize(self) -> None:
        from mri_gan.gans.synthesis import synthesize

        for size, name, run, rowname, n, cls in self.synthetic_units():
            out = self.paths.syn(size, rowname, cls)
            if (out / "manifest.csv").is_file():
                continue
            self.log(f"synthesize {n} {cls} at {size} px -> {out}")
            synthesize(run, out, n, seed=self.cfg.synth.seed, batch_size=self.cfg.synth.batch_size,
                       class_name=cls if name == "conditional" else None, checkpoint=self.cfg.synth.checkpoint,
                       overwrite=True)

    def stage_evaluate(self) -> None:
        from mri_gan.metrics.evaluate import evaluate_dirs

        for size, _, _, rowname, _, cls in self.synthetic_units():
            out = self.paths.eval(size, rowname, cls)
            if out.is_file():
                continue
            prep = self.paths.prep(size, self.cfg.study.split)
            self.log(f"evaluate {cls} n{rowname} at {size} px")
            evaluate_dirs(prep / "train" / cls, self.paths.syn(size, rowname, cls) / cls, out,
                          self.cfg, prep=prep, train_real_dir=prep / "train" / cls)

    def stage_classify(self) -> None:
        from mri_gan.classifier.train import run_classify

        for size in self.cfg.study.sizes:
            cfg = with_overrides(self.cfg, data={"size": size})
            for split in self.cfg.study.real_splits:
                out = self.paths.clf(size, split, "real")
                if not classifier_done(out, cfg):
                    self.log(f"classify real-only at {size} px on the {split} split")
                    run_classify(self.paths.prep(size, split), out, copy.deepcopy(cfg), overwrite=True, resume=True)
            prep = self.paths.prep(size, self.cfg.study.split)
            # the paired difference needs the real-only run of the same split and seeds
            compare_real = self.cfg.study.split not in self.cfg.study.real_splits
            for row in synthetic_rows(self.cfg):
                rowname = self.cfg.study.n_synthetic[row]
                syn_dirs = [self.paths.syn(size, rowname, cls) for _, _, classes in self.gan_runs(size) for cls in classes]
                runs = [(f"n{rowname}", False)] + ([(f"tstr-n{rowname}", True)] if self.cfg.study.tstr else [])
                for name, syn_only in runs:
                    out = self.paths.clf(size, self.cfg.study.split, name)
                    if classifier_done(out, cfg):
                        continue
                    self.log(f"classify {'synthetic only' if syn_only else 'real + synthetic'} n{rowname} at {size} px")
                    run_classify(prep, out, copy.deepcopy(cfg), synthetic_dirs=syn_dirs, synthetic_only=syn_only,
                                 compare_real=compare_real and not syn_only, overwrite=True, resume=True)

    def stage_compare(self) -> None:
        from mri_gan.experiments.compare import run_compare

        for size in self.cfg.study.sizes:
            cfg = with_overrides(self.cfg, data={"size": size})
            self.log(f"compare {','.join(cfg.compare.kinds)} on {','.join(cfg.compare.classes)} at {size} px")
            run_compare(self.paths.prep(size, self.cfg.study.split), self.paths.compare(size), cfg, log=self.log)

    def stage_report(self) -> None:
        from mri_gan.experiments.report import write_report

        write_report(self, self.record)

    # -- driver --------------------------------------------------------------------------------
    def enabled(self, stage: str) -> bool:
        s = self.cfg.study
        return {"evaluate": s.evaluate, "classify": s.classify, "compare": s.compare}.get(stage, True)

    def run(self) -> dict:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        self._load_record()
        self.cfg.save(self.paths.root / "config.yaml")
        for stage in STAGES:
            marker = self.paths.stage(stage)
            if not self.enabled(stage):
                self.record["stages"][stage] = {"status": "disabled"}
                continue
            if marker.is_file() and read_json(marker).get("config_sha") == self.config_sha:
                self.log(f"skip {stage} (done)")
                self.record["stages"][stage] = {**read_json(marker), "status": "skipped"}
                continue
            self.log(f"stage {stage} ...")
            t0 = time.time()
            getattr(self, f"stage_{stage}")()
            done = {"seconds": round(time.time() - t0, 1), "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "config_sha": self.config_sha}
            write_json(marker, done)
            self.record["stages"][stage] = {**done, "status": "ran"}
            self._save_record()
        self._save_record()
        return self.record


def run_study(cfg: Config, data_root: str | Path, out: str | Path, log=None) -> dict:
    """Run (or continue) the study; `log(msg)` receives one progress line per step (the CLI
    prints them to stderr)."""
    from mri_gan.backend import keep_tensorflow_out

    if not Path(data_root).is_dir():
        raise MriGanError(f"data root not found: {data_root}")
    keep_tensorflow_out()  # on JAX: no stage needs TensorFlow (docs/commands.md, "The GAN on JAX")
    if cfg.study.design == "few_labels":
        from mri_gan.experiments.few_labels import run_few_labels

        return run_few_labels(cfg, data_root, out, log)
    if cfg.study.design != "tables":
        raise MriGanError(f"study.design must be tables or few_labels, got {cfg.study.design!r}")
    check_study_gan(cfg)
    return Study(cfg, data_root, out, log).run()
