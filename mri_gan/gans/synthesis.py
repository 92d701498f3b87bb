"""Load a trained generator (run checkpoint or exported model) and write synthetic PNGs.

`synthesize(source, out, n, seed)` writes `out/<class>/<class>_000000.png ...` (uint8, the training
size, each with PNG text chunks `Software: mri-gan` and `Comment: synthetic image from <run>
ckpt <hash>`) and `out/manifest.csv` (file, class, seed, index, checkpoint, checkpoint_sha256,
created_at). Latents come from NumPy seeded by (seed, label), so the same seed gives
byte-identical PNGs. Each file is written to a temp name and renamed (a kill leaves no partial PNG).
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError, WriteError
from mri_gan.utils import (atomic_write_bytes, atomic_write_text, ensure_empty_or_new, progress, read_json,
                           safe_class_name, write_json)

MANIFEST_COLUMNS = ["file", "class", "seed", "index", "checkpoint", "checkpoint_sha256", "created_at"]


@dataclass(frozen=True)
class Selection:
    """Which draws to keep (mri_gan/gans/selection.py): `rule` over `oversample` x n candidates."""

    rule: str = "none"
    oversample: int = 1
    threshold: float = 0.9


@dataclass(frozen=True)
class SynthOptions:
    """How `synthesize` samples and writes (its keyword arguments)."""

    seed: int = 0  # latents: NumPy seeded by (seed, label)
    batch_size: int = 64  # images generated per call
    class_name: str | list[str] | None = None  # a conditional model: this class or these classes only (None = every class)
    checkpoint: str | None = "auto"  # synth.checkpoint of a run dir: auto, best, latest or a prefix
    overwrite: bool = False  # replace an existing OUT
    selection: Selection | None = None  # keep the draws a rule picks (None = every draw)


@dataclass
class GeneratorSource:
    """A generator ready to sample, and what is needed to feed it and to name its outputs."""

    model: object
    size: int
    latent_dim: int
    info_categorical: int = 0
    info_continuous: int = 0
    class_names: list = field(default_factory=list)  # label names of a conditional model
    run_class: str = ""  # the class an unconditional model was trained on (e.g. glioma, tumor)
    conditional: bool = False
    kind: str = "proposed"
    source: str = ""
    checkpoint: str = ""
    checkpoint_sha256: str = ""

    def latent(self, n: int, seed) -> np.ndarray:
        from mri_gan.gans.sampling import sample_latent

        return sample_latent(n, seed, self.latent_dim, self.info_categorical, self.info_continuous)

    def generate(self, z, labels=None) -> np.ndarray:
        from keras import ops

        z = ops.convert_to_tensor(np.asarray(z, np.float32))
        if self.conditional:
            y = ops.convert_to_tensor(np.asarray(labels, np.int32).reshape(-1, 1))
            return np.asarray(ops.convert_to_numpy(self.model([z, y], training=False)))
        return np.asarray(ops.convert_to_numpy(self.model(z, training=False)))

    def meta(self) -> dict:
        return {"size": self.size, "latent_dim": self.latent_dim, "info_categorical": self.info_categorical,
                "info_continuous": self.info_continuous, "class_names": list(self.class_names),
                "class": self.run_class, "conditional": self.conditional, "kind": self.kind,
                "source": self.source, "checkpoint": self.checkpoint, "checkpoint_sha256": self.checkpoint_sha256}


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_generator(source, checkpoint: str | None = "auto") -> GeneratorSource:
    """From a GAN run dir (`checkpoint` as synth.checkpoint: auto = the best snapshot when there is
    one, else the newest; the EMA generator when the run used EMA)
    or from a `mrigan-tf export` dir (generator.keras, loaded with safe_mode=True). A run's
    checkpoints are read on the backend that wrote them only; an export dir loads on any."""
    from mri_gan.backend import keep_tensorflow_out

    keep_tensorflow_out()
    src = Path(source)
    if not src.is_dir():
        raise MriGanError(f"run or export dir not found: {src}")
    if (src / "export.json").is_file():
        import keras

        if checkpoint not in (None, "auto"):
            raise MriGanError("--checkpoint applies to a run dir, not to an exported model")
        meta = read_json(src / "export.json")
        path = src / "generator.keras"
        if not path.is_file():
            raise MriGanError(f"{src} has export.json but no generator.keras")
        model = keras.models.load_model(path, safe_mode=True, compile=False)
        return GeneratorSource(model=model, size=int(meta["size"]), latent_dim=int(meta["latent_dim"]),
                               info_categorical=int(meta.get("info_categorical", 0)),
                               info_continuous=int(meta.get("info_continuous", 0)),
                               class_names=list(meta.get("class_names", [])), run_class=meta.get("class", ""),
                               conditional=bool(meta.get("conditional", False)), kind=meta.get("kind", ""),
                               source=str(src), checkpoint=str(path), checkpoint_sha256=file_sha256(path))
    if not (src / "run.json").is_file():
        raise MriGanError(f"{src} is neither a GAN run (no run.json) nor an exported model (no export.json)")
    from mri_gan.config import load_saved
    from mri_gan.gans.factory import build_generator_only, effective_gan
    from mri_gan.gans.intact import checkpoint_sha256, resolve_checkpoint, restore_generator

    run = read_json(src / "run.json")
    cfg = load_saved(src / "config.yaml")
    prefix = resolve_checkpoint(src, checkpoint)
    conditional = bool(run.get("conditional", False))
    class_names = list(run.get("class_names", []))
    num_classes = len(class_names) if conditional else 0
    g = effective_gan(cfg.gan, num_classes)  # InfoGAN's codes are 0 under any other kind
    model = build_generator_only(g, int(run["size"]), num_classes)
    restore_generator(model, prefix, ema=cfg.train.ema > 0)
    return GeneratorSource(model=model, size=int(run["size"]), latent_dim=g.latent_dim,
                           info_categorical=g.info_categorical, info_continuous=g.info_continuous,
                           class_names=class_names, run_class=run["class"], conditional=conditional, kind=g.kind,
                           source=str(src), checkpoint=prefix, checkpoint_sha256=checkpoint_sha256(prefix))


def png_bytes(gray_uint8: np.ndarray, comment: str) -> bytes:
    """PNG with text chunks marking the image as synthetic (Pillow writes no timestamp: reproducible)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", "mri-gan")
    info.add_text("Comment", comment)
    buf = io.BytesIO()
    Image.fromarray(gray_uint8, mode="L").save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def _keeps_whole_images(fn):
    """A write error (disk full, ...) in `synthesize` as one line naming the file and what is kept:
    every image written before it is whole (atomic writes); manifest.csv, written last, is not."""
    import functools

    @functools.wraps(fn)
    def wrapper(source, out, *args, **kwargs):
        try:
            return fn(source, out, *args, **kwargs)
        except WriteError as e:
            n = sum(1 for _ in Path(out).rglob("*.png")) if Path(out).is_dir() else 0
            raise MriGanError(f"{e}; kept: {n} whole image(s) in {out}, no manifest.csv (written last); "
                              f"synthesize again with --overwrite once it can be written") from None

    return wrapper


@_keeps_whole_images
def synthesize(source, out, n: int, **options) -> dict:
    """Write `n` PNGs per class (a conditional model: every class, or the class or list of classes
    `class_name`) + manifest.csv;
    `options`: the fields of `SynthOptions` (seed, batch_size, class_name, checkpoint, overwrite,
    selection).

    With a `selection` other than `none`, `oversample` x n candidates are drawn per class and the
    rule keeps up to n (their `index` in the manifest is the draw's index); OUT/selection.json
    records the rule, its parameters and how many were drawn and kept per class."""
    from mri_gan.data.pipeline import to_uint8

    o = SynthOptions(**options)
    seed, batch_size, class_name, selection = o.seed, o.batch_size, o.class_name, o.selection

    if n <= 0:
        raise MriGanError(f"--n must be positive, got {n}")
    if batch_size <= 0:
        raise MriGanError(f"--batch-size must be positive, got {batch_size}")
    selection = selection or Selection()
    from mri_gan.gans.selection import check_rule

    check_rule(selection.rule, selection.oversample, selection.threshold)
    gen = load_generator(source, o.checkpoint)
    chooser = _Chooser(source, gen, selection) if selection.rule != "none" else None
    wanted = wanted_classes(class_name)
    check_classes(wanted, gen.conditional, gen.class_names, gen.run_class)
    if gen.conditional:
        targets = [(c, gen.class_names.index(c)) for c in (wanted or gen.class_names)]
    else:
        targets = [(gen.run_class, None)]
    out = ensure_empty_or_new(out, o.overwrite)
    for name, _ in targets:
        safe_class_name(name)
        if (out / name).is_dir():  # --overwrite: stale files of a larger earlier run must not stay
            shutil.rmtree(out / name)
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    comment = f"synthetic image from {Path(gen.source).resolve()} ckpt {gen.checkpoint_sha256[:16]}"
    rows = []
    bar = progress(total=n * len(targets), desc="synthesize")
    records = {}
    for name, label in targets:
        draws = n if chooser is None else n * selection.oversample
        z = gen.latent(draws, [seed, 0 if label is None else label + 1])
        (out / name).mkdir(parents=True, exist_ok=True)
        if chooser is None:
            batches = ((start, None) for start in range(0, n, batch_size))
        else:
            images = _generate_all(gen, z, label, batch_size)
            keep, records[name] = chooser.choose(images, n, name)
            batches = ((start, keep[start:start + batch_size]) for start in range(0, len(keep), batch_size))
        for start, kept in batches:
            if kept is None:
                zb = z[start:start + batch_size]
                idx = np.arange(start, start + len(zb))
                images_b = to_uint8(gen.generate(zb, None if label is None else np.full(len(zb), label))[..., 0])
            else:
                idx, images_b = kept, images[kept]
            for i, img in zip(idx, images_b):
                rel = f"{name}/{name}_{int(i):06d}.png"
                atomic_write_bytes(out / rel, png_bytes(img, comment))
                rows.append([rel, name, seed, int(i), gen.checkpoint, gen.checkpoint_sha256, created])
            bar.update(len(images_b))
    bar.close()
    if chooser is not None:
        write_json(out / "selection.json", {"rule": selection.rule, "oversample": selection.oversample,
                                            "threshold": selection.threshold, "classes": records})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MANIFEST_COLUMNS)
    w.writerows(rows)
    atomic_write_text(out / "manifest.csv", buf.getvalue())
    return {"out": str(out), "classes": [t[0] for t in targets], "n": n, "files": len(rows),
            "checkpoint": gen.checkpoint, "checkpoint_sha256": gen.checkpoint_sha256, "selection": records}


def wanted_classes(class_name) -> list[str]:
    """`SynthOptions.class_name` as a list of names without repeats: None -> [], "a" -> ["a"], a
    comma-separated string or a list -> its names."""
    if not class_name:
        return []
    names = class_name.split(",") if isinstance(class_name, str) else list(class_name)
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))


def check_classes(wanted: list[str], conditional: bool, class_names, run_class: str) -> None:
    """One-line error for a requested class the model cannot draw."""
    for name in wanted:
        if conditional and name not in class_names:
            raise MriGanError(f"unknown class {name!r} (this model knows: {', '.join(class_names)})")
        if not conditional and name != run_class:
            raise MriGanError(f"this model was trained on {run_class!r} only; --class {name!r} is not available")


def _generate_all(gen: GeneratorSource, z: np.ndarray, label, batch_size: int) -> np.ndarray:
    """uint8 (N, H, W) images of all latents `z`."""
    from mri_gan.data.pipeline import to_uint8

    parts = [to_uint8(gen.generate(z[s:s + batch_size], None if label is None else np.full(len(z[s:s + batch_size]), label))[..., 0])
             for s in range(0, len(z), batch_size)]
    return np.concatenate(parts)


class _Chooser:
    """Applies a `Selection` to one class's candidates of a GAN run (not an exported model: the
    rules need the run's discriminator, prepared data and evaluation settings)."""

    def __init__(self, source, gen: GeneratorSource, selection: Selection):
        from mri_gan.config import load_saved

        run = Path(source)
        if not (run / "run.json").is_file():
            raise MriGanError(f"synth.select {selection.rule} needs a GAN run dir (with run.json), not {run}")
        self.run, self.selection = run, selection
        self.info = read_json(run / "run.json")
        self.cfg = load_saved(run / "config.yaml")
        self.cfg.synth.select_threshold = selection.threshold

    def choose(self, images: np.ndarray, n: int, class_name: str) -> tuple[np.ndarray, dict]:
        from mri_gan.data.pipeline import list_split, load_uint8
        from mri_gan.gans.selection import select

        prep = self.info["data"]
        paths, _, _ = list_split(prep, "train", [class_name])
        real = load_uint8(paths)
        idx, record = select(self.selection.rule, images, n, class_name=class_name, run=self.run, prep=prep,
                             real_uint8=real, cfg=self.cfg)
        return np.sort(idx), record
