"""Checkpoints of a GAN run: everything needed to continue exactly.

A checkpoint holds generator, discriminator, both optimizers (iterations and moments:
`save_weights` would lose them, see KERAS-NOTES), the EMA generator, ADA's state, the
SeedGenerator state, the epoch counter and the batch position in the epoch.

- TensorFlow: one `tf.train.Checkpoint`; `tf.train.CheckpointManager` writes a checkpoint's files
  first and then atomically replaces the small `checkpoint` index file, so a kill at any moment
  leaves the index pointing at the last complete checkpoint.
- Any other backend (JAX): `NpzCheckpoint` / `NpzManager`, the same contents without TensorFlow:
  DIR/ckpt-<step>.npz (every variable's value, keyed `<item>/<i>`, plus the variables' paths and
  the backend as JSON in `__meta__`), written to a temp file and renamed, then the index
  DIR/checkpoint.json ({"backend", "latest", "all"}) replaced the same way.

Finding a damaged checkpoint and taking the newest intact one instead, and loading one model of
a checkpoint for use, are in `intact.py`.

A run's checkpoints continue on the backend that wrote them only: the other backend's are refused
with a one-line error (`check_backend`), since the two train steps draw different random numbers
and a TF checkpoint needs TensorFlow to read.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError

INDEX = "checkpoint.json"  # the index of an NpzManager directory (TF's is `checkpoint`)


def _backend() -> str:
    import keras

    return keras.backend.backend()


def _np(v):
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v)


class NpzCheckpoint:
    """Named lists of variables (Keras variables, or anything with `numpy()` and `assign()`),
    saved to / restored from one .npz. Attributes set later become items too
    (`ckpt.epoch_batch = var`, as on a tf.train.Checkpoint)."""

    def __init__(self, **items):
        object.__setattr__(self, "items", {})
        for k, v in items.items():
            setattr(self, k, v)

    def __setattr__(self, name, value):
        import keras

        if isinstance(value, keras.optimizers.Optimizer):  # iterations, learning rate, moments
            self.items[name] = list(value.variables)
        elif isinstance(value, keras.layers.Layer):  # a model: all its weights (BN statistics, u)
            self.items[name] = list(value.weights)
        else:  # one variable
            self.items[name] = [value]

    def save_to(self, path: Path) -> None:
        arrays = {f"{k}/{i}": _np(v) for k, vs in self.items.items() for i, v in enumerate(vs)}
        meta = {"backend": _backend(), "paths": {k: [getattr(v, "path", getattr(v, "name", "")) for v in vs]
                                                 for k, vs in self.items.items()}}
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)
        from mri_gan.utils import atomic_write_bytes

        atomic_write_bytes(path, buf.getvalue())

    def restore(self, prefix, partial: bool = False) -> None:
        """Assign every item's values from PREFIX.npz; a missing item or a shape mismatch is a
        one-line MriGanError (`partial`: items absent from the file keep their values)."""
        data = _load_npz(prefix)
        for k, vs in self.items.items():
            if f"{k}/0" not in data:
                if partial:
                    continue
                raise MriGanError(f"checkpoint {prefix} has no {k!r}: not this run's checkpoint")
            n = sum(1 for key in data if key.startswith(f"{k}/"))
            if n != len(vs):
                raise MriGanError(f"checkpoint {prefix} does not match this run's {k} ({n} values, {len(vs)} expected)")
            for i, v in enumerate(vs):
                a = data[f"{k}/{i}"]
                if tuple(a.shape) != tuple(v.shape):
                    raise MriGanError(f"checkpoint {prefix} does not match this run's {k}: "
                                      f"shape {tuple(a.shape)} where {tuple(v.shape)} is expected")
                v.assign(a)

    def assert_existing_objects_matched(self):  # tf.train.Checkpoint.restore(...)'s interface
        return self


def _load_npz(prefix) -> dict:
    path = Path(str(prefix) + ".npz")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except Exception as e:  # noqa: BLE001 - zipfile, zlib and NumPy each raise their own kinds
        raise MriGanError(f"cannot read checkpoint {path}: {_first_line(e)}") from None


class NpzManager:
    """`tf.train.CheckpointManager`'s interface (`latest_checkpoint`, `save(checkpoint_number)`,
    `checkpoints`) over NpzCheckpoint files, keeping the newest `max_to_keep`."""

    def __init__(self, ckpt: NpzCheckpoint, directory, max_to_keep: int = 3, checkpoint_name: str = "ckpt"):
        self.ckpt, self.dir, self.keep, self.name = ckpt, Path(directory), max(1, max_to_keep), checkpoint_name

    def _index(self) -> dict:
        return read_index(self.dir) or {"backend": _backend(), "latest": None, "all": []}

    @property
    def checkpoints(self) -> list[str]:
        return [str(self.dir / n) for n in self._index()["all"]]

    @property
    def latest_checkpoint(self) -> str | None:
        latest = self._index().get("latest")
        return str(self.dir / latest) if latest else None

    def save(self, checkpoint_number: int | None = None) -> str:
        index = self._index()
        if checkpoint_number is None:
            nums = [int(n.rsplit("-", 1)[1]) for n in index["all"]]
            checkpoint_number = max(nums, default=0) + 1
        name = f"{self.name}-{int(checkpoint_number)}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ckpt.save_to(self.dir / f"{name}.npz")
        kept = [n for n in index["all"] if n != name] + [name]
        dropped, kept = kept[:-self.keep], kept[-self.keep:]
        from mri_gan.utils import atomic_write_text

        atomic_write_text(self.dir / INDEX, json.dumps({"backend": _backend(), "latest": name, "all": kept}) + "\n")
        for n in dropped:  # after the index no longer names them
            try:
                os.remove(self.dir / f"{n}.npz")
            except FileNotFoundError:
                pass
        return str(self.dir / name)


def _first_line(e: BaseException) -> str:
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", str(e)).strip()  # TF's "{{function_node ...}}" prefix
    return (text.splitlines() or [type(e).__name__])[0][:200]


def read_index(directory) -> dict | None:
    p = Path(directory) / INDEX
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        raise MriGanError(f"{p} is not a checkpoint index (damaged?)") from None


def checkpoint_backend(directory) -> str | None:
    """The backend whose checkpoints `directory` holds: 'tensorflow', the NPZ index's, or None."""
    d = Path(directory)
    try:
        index = read_index(d)
    except MriGanError:  # a damaged index: the checkpoint files say
        index = None
        for f in sorted(d.glob("*.npz")):
            try:
                with np.load(f, allow_pickle=False) as z:
                    return json.loads(str(z["__meta__"])).get("backend", "jax")
            except Exception:  # noqa: BLE001 - a damaged file: try the next
                continue
    if index is not None:
        return index.get("backend", "jax")
    if (d / "checkpoint").is_file() or any(d.glob("*.index")):
        return "tensorflow"
    return None


def check_backend(directory, what: str = "continue") -> None:
    """One-line refusal when `directory`'s checkpoints come from another Keras backend."""
    written, here = checkpoint_backend(directory), _backend()
    if written is not None and written != here:
        raise MriGanError(f"the checkpoints in {directory} were written by the {written} backend and this process "
                          f"runs {here}: {what} with KERAS_BACKEND={written}")


def make_checkpoint(gan, epoch_var):
    """Everything a run continues from: a `tf.train.Checkpoint` on TensorFlow, an `NpzCheckpoint` elsewhere."""
    items = dict(generator=gan.generator, discriminator=gan.discriminator,
                 g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer,
                 seed_state=gan.seed_generator.state, epoch=epoch_var,
                 ada_p=gan.ada_p, ada_acc=gan.ada_acc, ada_count=gan.ada_count)
    if gan.ema_generator is not None:
        items["ema_generator"] = gan.ema_generator
    if _backend() != "tensorflow":
        return NpzCheckpoint(**items)
    import tensorflow as tf

    return tf.train.Checkpoint(**items)


def make_manager(ckpt, directory, keep: int = 3):
    """A checkpoint manager (`tf.train.CheckpointManager`, or `NpzManager`) whose `save` fails
    cleanly (`GuardedManager`)."""
    if isinstance(ckpt, NpzCheckpoint):
        return GuardedManager(NpzManager(ckpt, directory, max_to_keep=keep), directory)
    import tensorflow as tf

    manager = tf.train.CheckpointManager(ckpt, str(directory), max_to_keep=max(1, keep), checkpoint_name="ckpt")
    return GuardedManager(manager, directory)


class GuardedManager:
    """A checkpoint manager whose `save` either writes a whole checkpoint or, on a write error
    (disk full, quota, a failing disk), removes what that save left behind (TensorFlow's
    DIR/ckpt-N_temp/ folder and checkpoint.tmp* file, the new checkpoint's own files) and raises
    `WriteError` naming the checkpoint; the index still names the last good one. Everything else
    is the wrapped manager's."""

    def __init__(self, manager, directory):
        self._manager, self._dir = manager, Path(directory)

    def __getattr__(self, name):
        return getattr(self._manager, name)

    def save(self, checkpoint_number: int | None = None) -> str:
        before = set(os.listdir(self._dir)) if self._dir.is_dir() else None
        try:
            return self._manager.save(checkpoint_number=checkpoint_number)
        except Exception as e:  # noqa: BLE001 - OSError, or TensorFlow's OpError of a failed write
            if not _is_write_failure(e):
                raise
            remove_new_entries(self._dir, before or set())
            if before is None:  # the save made the folder
                try:
                    self._dir.rmdir()
                except OSError:
                    pass
            from mri_gan.errors import write_error

            name = f"ckpt-{checkpoint_number}" if checkpoint_number is not None else "ckpt"
            raise write_error(self._dir / name, e, "checkpoint") from None


def _is_write_failure(e: BaseException) -> bool:
    if isinstance(e, OSError):
        return True
    return type(e).__module__.startswith("tensorflow") and hasattr(e, "error_code")  # tf.errors.OpError


_TEMPORARY = re.compile(r"^(?:.+-\d+_temp.*|checkpoint\.tmp.*|\..+\.tmp)$")


def remove_new_entries(directory, before: set) -> list[str]:
    """Remove what a failed save added to `directory` (entries not in `before`: the new
    checkpoint's files) and every temporary entry (TensorFlow's ckpt-N_temp/ folders and
    checkpoint.tmp* files, atomic writes' .*.tmp); never an index, nor the files of a checkpoint
    the index names. Returns the names removed."""
    import shutil

    d = Path(directory)
    if not d.is_dir():
        return []
    named = {Path(q).name for q in _indexed(d)}
    removed = []
    for name in sorted(os.listdir(d)):
        if name in before and not _TEMPORARY.match(name):  # a temporary file is never wanted (one writer a folder)
            continue
        m = _FILE.match(name)
        if name in ("checkpoint", INDEX) or (m and Path(m["prefix"]).name in named):
            continue
        f = d / name
        try:
            shutil.rmtree(f) if f.is_dir() and not f.is_symlink() else f.unlink()
        except OSError:
            continue
        removed.append(name)
    return removed


def restore(ckpt, prefix) -> None:
    """Restore a run checkpoint written by `make_checkpoint` + `make_manager` on this backend."""
    if isinstance(ckpt, NpzCheckpoint):
        ckpt.restore(prefix)
    else:
        ckpt.restore(prefix).assert_existing_objects_matched()


def saved_position(prefix: str) -> int:
    """Batches of the unfinished epoch a checkpoint holds (0 for one saved at an epoch end, and for
    checkpoints written before the position was recorded)."""
    if Path(str(prefix) + ".npz").is_file():
        data = _load_npz(prefix)
        return int(data["epoch_batch/0"]) if "epoch_batch/0" in data else 0
    import tensorflow as tf

    try:
        return int(tf.train.load_variable(prefix, "epoch_batch/.ATTRIBUTES/VARIABLE_VALUE"))
    except (tf.errors.NotFoundError, ValueError):
        return 0


def latest_checkpoint(run_or_dir) -> str | None:
    p = Path(run_or_dir)
    d = p / "checkpoints" if (p / "checkpoints").is_dir() else p
    index = read_index(d)
    if index is not None:
        return str(d / index["latest"]) if index.get("latest") else None
    if not (d / "checkpoint").is_file():
        return None
    check_backend(d, "use them")
    import tensorflow as tf

    return tf.train.latest_checkpoint(str(d))


_FILE = re.compile(r"^(?P<prefix>.+-\d+)\.(?:index|npz|data-\d+-of-\d+)$")


def _number(prefix: str) -> int:
    return int(prefix.rsplit("-", 1)[1])


def _indexed(d: Path) -> list[str]:
    """The prefixes `d`'s index names (NPZ or TF), [] when it has none or cannot be read."""
    try:
        index = read_index(d)
    except MriGanError:
        return []
    if index is not None:
        return [str(d / n) for n in index.get("all", [])] + ([str(d / index["latest"])] if index.get("latest") else [])
    if not (d / "checkpoint").is_file():
        return []
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(str(d))  # None for a damaged index (logged, not raised)
    if state is None:
        return []
    return [str(d / Path(q).name) for q in [*state.all_model_checkpoint_paths, state.model_checkpoint_path] if q]


def save_generators(gan, directory) -> str:
    """Save only the generator and the EMA generator (a sampling snapshot, e.g. the best by KID)
    into `directory`, replacing the previous snapshot there; returns the prefix."""
    items = {"generator": gan.generator}
    if gan.ema_generator is not None:
        items["ema_generator"] = gan.ema_generator
    if _backend() != "tensorflow":
        return NpzManager(NpzCheckpoint(**items), directory, max_to_keep=1).save()
    import tensorflow as tf

    return make_manager(tf.train.Checkpoint(**items), directory, keep=1).save()
