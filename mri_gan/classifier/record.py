"""results.json of a classify run: what it records (`build_results`), and which earlier runs'
seeds may be kept (`resumable`, `keep_finished_seeds`) or reused as the real-only baseline
(`reusable_baseline`)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from mri_gan.classifier import stats
from mri_gan.errors import MriGanError

MODEL_FILE = "best.keras"  # the best-validation model of a run, and its preprocessing record
MODEL_INFO = "model.json"

NOT_COMPARED = ("compare_real", "synthetic_only", "baseline_from")


def _other_backend(res: dict) -> str:
    """Why an earlier run's seeds cannot stand in for this backend's ('' if they can): the same seed
    gives another run on another Keras backend (other initial weights and data order)."""
    import keras

    there = res.get("device", "tensorflow").split()[0]  # runs before "device" was recorded were TensorFlow's
    here = keras.backend.backend()
    return "" if there == here else f"ran on the {there} backend, this is {here} (the same seed gives another run there)"


def reusable_baseline(run_dir, prep: Path, cfg) -> list[dict]:
    """Real-only runs of an earlier classify RUN, if it was made with the same data, seeds and settings:
    a real-only run, or the real-only baseline that a `--compare-real` run trained beside its own."""
    from mri_gan.config import differences, load_saved
    from mri_gan.utils import read_json

    run_dir = Path(run_dir)
    if not (run_dir / "results.json").is_file() or not (run_dir / "config.yaml").is_file():
        raise MriGanError(f"classifier.baseline_from: {run_dir} is not a finished classify run (no results.json)")
    res = read_json(run_dir / "results.json")
    saved = load_saved(run_dir / "config.yaml", sections=("classifier",))
    diff = sorted(differences(saved, cfg, ("classifier",), {f"classifier.{k}" for k in NOT_COMPARED}))
    own_baseline = (res.get("baseline") or {}).get("runs") if res.get("mode") != "real" else None
    if (res.get("mode") != "real" and not own_baseline) or Path(res["data"]).resolve() != prep.resolve():
        raise MriGanError(f"classifier.baseline_from: {run_dir} is neither a real-only run on {prep} "
                          f"nor a --compare-real run with a real-only baseline")
    if diff:
        key, a, b = diff[0]
        raise MriGanError(f"classifier.baseline_from: {run_dir} differs in {key} ({a!r} vs {b!r})")
    other = _other_backend(res)
    if other:
        raise MriGanError(f"classifier.baseline_from: {run_dir} {other}")
    if res.get("seeds_done") != list(range(cfg.classifier.seeds)):
        raise MriGanError(f"classifier.baseline_from: {run_dir} has seeds {res.get('seeds_done')}, "
                          f"need {list(range(cfg.classifier.seeds))}")
    return own_baseline or res["runs"]


def resumable(out: Path, prep: Path, cfg, mode: str, syn_dirs, n_syn: int) -> dict | None:
    """The results.json of an earlier run in `out` that this one may continue (None: nothing to keep)."""
    from mri_gan.utils import read_json

    if not (out / "results.json").is_file():
        return None
    if not (out / "config.yaml").is_file():
        raise MriGanError(f"cannot resume {out}: it has results.json but no config.yaml")
    res = read_json(out / "results.json")
    diff = [f"{k} ({a!r} there, {b!r} now)"
            for k, a, b in recorded_differences(out, cfg, ("classifier", "data.shuffle_buffer"))]
    other = _other_backend(res)
    same_syn = ([Path(d).resolve() for d in res["synthetic"]["dirs"]] == [Path(d).resolve() for d in syn_dirs]
                and res["synthetic"]["n"] == n_syn)
    if Path(res["data"]).resolve() != prep.resolve():
        why = f"it was trained on {res['data']}"
    elif res.get("mode") != mode:
        why = f"it is a {res.get('mode')} run, this one is {mode}"
    elif not same_syn:
        why = f"its synthetic images differ ({res['synthetic']['n']} from {res['synthetic']['dirs']})"
    elif diff:
        why = f"its settings differ: {diff[0]}"
    elif other:
        why = other
    elif max(res["seeds_done"], default=-1) >= cfg.classifier.seeds:
        why = f"it already has seeds {res['seeds_done']}; --seeds {cfg.classifier.seeds} would drop some"
    else:
        return res
    raise MriGanError(f"cannot resume {out}: {why}; use another --out, or --overwrite to start over")


def keep_finished_seeds(out: Path, prior: dict, conditions: list[str], reused, all_runs: dict,
                         best_runs: dict) -> list[int]:
    """Load the finished seeds' runs into `all_runs` (and their best-validation scores into
    `best_runs`); drop what an unfinished seed left behind."""
    from mri_gan.utils import atomic_write_text, read_jsonl

    kept = sorted(prior["seeds_done"])
    all_runs[conditions[0]] = [r for r in prior["runs"] if r["seed"] in kept]
    best_runs[conditions[0]] = [r for r in prior.get("best_val", {}).get("runs", []) if r["seed"] in kept]
    if "real" in conditions[1:] and reused is None:
        all_runs["real"] = [r for r in prior["baseline"]["runs"] if r["seed"] in kept]
        best_runs["real"] = [r for r in prior["baseline"].get("best_val", {}).get("runs", []) if r["seed"] in kept]
    hist = out / "history.jsonl"
    lines = [r for r in read_jsonl(hist) if r.get("seed") in kept] if hist.is_file() else []
    atomic_write_text(hist, "".join(json.dumps(r) + "\n" for r in lines))
    tb = out / "tensorboard"
    if tb.is_dir():
        for d in tb.iterdir():
            if d.is_dir() and not any(d.name.endswith(f"-seed{s}") for s in kept):
                shutil.rmtree(d)
    return kept


def _best_val_entry(rows: list[dict]) -> dict:
    """The best-validation checkpoints' test scores: per seed, and their mean ± CI over seeds."""
    return {"runs": rows, "summary": stats.summarize_runs(rows)}


def reused_best(run_dir) -> list[dict]:
    """Best-validation runs of the reused baseline (none from runs made before they were recorded)."""
    from mri_gan.utils import read_json

    return read_json(Path(run_dir) / "results.json").get("best_val", {}).get("runs", [])


@dataclass
class ClassifyPlan:
    """What one `run_classify` call trains and records, fixed when it starts."""

    prep: Path
    out: Path  # RUN
    cfg: object
    info: dict  # PREP's prepare.json
    mode: str  # what the main condition trains on: real, real+synthetic or synthetic-only
    seeds: list
    epochs: list  # the epochs scored on the test set
    class_names: list
    conditions: list  # the main condition (`mode`), then "real" for a baseline
    synthetic_dirs: list
    n_synthetic: int  # synthetic training images
    device: str = ""  # the backend and device that compute the seeds (provenance)
    verbose: int = 2

    @property
    def size(self) -> int:
        return int(self.info["size"])


def build_results(plan: ClassifyPlan, all_runs, best_runs, balance, best, wall, resumed_seeds=()):
    """results.json's content: `all_runs` / `best_runs` (condition -> per-epoch / best-validation
    test scores), the class balance, the best model so far, `wall` seconds, the seeds resumed."""
    conditions, epochs, best_runs = plan.conditions, plan.epochs, best_runs or {}
    main = all_runs[conditions[0]]
    res = {
        "data": str(plan.prep), "size": plan.size, "split": plan.info.get("split"), "mode": plan.mode,
        "classes": plan.class_names, "seeds": plan.seeds, "epochs": epochs,
        "seeds_done": sorted({r["seed"] for r in main}), "seeds_resumed": list(resumed_seeds),
        "synthetic": {"dirs": [str(d) for d in plan.synthetic_dirs], "n": plan.n_synthetic},
        "class_balance": balance, "runs": main, "summary": stats.summarize(main, epochs),
        "best_val": _best_val_entry(best_runs.get(conditions[0], [])),
        "best_model": {"file": MODEL_FILE, **best}, "wall_seconds": round(wall, 1),
        "device": plan.device,
    }
    if "real" in conditions and conditions[0] != "real":
        base = all_runs["real"]
        res["baseline"] = {"mode": "real", "runs": base, "summary": stats.summarize(base, epochs),
                           "best_val": _best_val_entry(best_runs.get("real", [])),
                           "reused_from": plan.cfg.classifier.baseline_from or None}
        res["paired_difference"] = stats.paired_difference(main, base, epochs)
        # the best-validation checkpoints, paired by seed (their epochs may differ)
        res["best_val"]["paired_difference"] = stats.paired_difference(
            [{**r, "epoch": 0} for r in best_runs.get(conditions[0], [])],
            [{**r, "epoch": 0} for r in best_runs.get("real", [])], [0])["0"]
    return res


def as_recorded(c) -> None:
    """Put classifier settings `c` in the form a run records them in its config.yaml: epochs sorted,
    each once; precision and jit_compile `auto` resolved to this machine's choice."""
    from mri_gan.precision import resolve_jit, resolve_precision

    c.epochs = sorted({int(e) for e in c.epochs})
    c.precision = resolve_precision(c.precision, "classifier.precision")
    c.jit_compile = resolve_jit(c.jit_compile, "classifier.jit_compile", cpu_xla=False)


def recorded_differences(run, cfg, keys) -> list[tuple]:
    """(key, value in RUN's config.yaml, value of `cfg`) for the `keys` (as `config.differences`) where
    they differ, `cfg` taken in the form a run records it (`as_recorded`). Not compared:
    `classifier.seeds` (a run with fewer seeds is continued) and `classifier.jit_compile` (XLA or the
    plain graph run the same arithmetic: a run continues under another machine's choice)."""
    import copy

    from mri_gan.config import differences, load_saved

    cfg = copy.deepcopy(cfg)
    as_recorded(cfg.classifier)
    sections = tuple(dict.fromkeys(k.partition(".")[0] for k in keys))
    return differences(load_saved(Path(run) / "config.yaml", sections=sections), cfg, keys, {"classifier.seeds", "classifier.jit_compile"})


def settings_differ(run, cfg) -> str:
    """Why the classify run in RUN was not made with `cfg`'s classifier settings ('' if it was):
    the first key that differs (`recorded_differences`), or a missing config.yaml."""
    p = Path(run) / "config.yaml"
    if not p.is_file():
        return f"{p} is missing"
    diff = recorded_differences(run, cfg, ("classifier",))
    if not diff:
        return ""
    key, a, b = diff[0]
    return f"{key} is {a!r} there, {b!r} now"


def classifier_done(run, cfg=None) -> bool:
    """A classifier run is done when its results.json holds every seed (it is rewritten after each);
    given `cfg`, when it holds `cfg`'s seeds, no more, and was trained with `cfg`'s other classifier
    settings (epochs, schedule, model...)."""
    from mri_gan.utils import read_json

    p = Path(run) / "results.json"
    if not p.is_file():
        return False
    r = read_json(p)
    seeds = r.get("seeds", [None]) if cfg is None else list(range(cfg.classifier.seeds))
    if sorted(r.get("seeds_done", [])) != sorted(seeds):
        return False
    return cfg is None or not settings_differ(run, cfg)
