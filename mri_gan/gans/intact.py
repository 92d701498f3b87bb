"""Reading a run's checkpoints for use: the newest intact one, and one model out of it.

A damaged checkpoint (a missing, empty, truncated or garbled file) is found by reading every
tensor back (`checkpoint_damage`: TensorFlow checks each tensor's CRC32C, a .npz each member's
CRC-32). Whoever needs a run's checkpoint takes the newest intact one (`pick_intact`): fit's
resume (`resume_checkpoint`, which also moves the damaged newer ones into DIR/damaged/), and
synthesize / export through `resolve_checkpoint`, with one line on stderr naming the damaged
checkpoint and the one used, or one MriGanError line when none is intact. `restore_part` loads
one model (generator, EMA generator or discriminator) of a checkpoint. The checkpoint format
itself, and writing it, is `checkpoint.py`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

from mri_gan.errors import MriGanError
from mri_gan.gans.checkpoint import (_FILE, INDEX, NpzCheckpoint, _backend, _first_line, _indexed, _load_npz, _number,
                                     check_backend)


def checkpoint_prefixes(directory) -> list[str]:
    """Every checkpoint of `directory`, newest (highest number) first: the ones its index names
    and any other ckpt-<n> file found beside them (an index can be damaged or missing)."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = {str(d / m["prefix"]) for f in d.iterdir() if f.is_file() and (m := _FILE.match(f.name))}
    found |= {q for q in _indexed(d) if re.search(r"-\d+$", q)}
    return sorted(found, key=_number, reverse=True)


def checkpoint_damage(prefix) -> str | None:
    """Why the checkpoint at `prefix` cannot be read whole (a missing or empty file, or a tensor
    that does not read back: truncated, garbled), or None when every tensor reads back."""
    p = Path(prefix)
    npz = Path(str(p) + ".npz")
    if npz.is_file():
        if npz.stat().st_size == 0:
            return f"{npz.name} is empty (0 bytes)"
        try:
            _load_npz(p)
        except MriGanError as e:
            return str(e).split(": ", 1)[-1]
        return None
    index = Path(str(p) + ".index")
    data = sorted(p.parent.glob(f"{p.name}.data-*"))
    if not index.is_file() and not data:
        return f"none of its files ({p.name}.index / .data-* / .npz) exist"
    if not index.is_file():
        return f"{index.name} is missing"
    shards = {int(m.group(1)) for f in data if (m := re.search(r"-of-(\d+)$", f.name))} or {1}
    for n in shards:
        for i in range(n):
            name = f"{p.name}.data-{i:05d}-of-{n:05d}"
            if not (p.parent / name).is_file():
                return f"{name} is missing"
    for f in [index, *data]:
        if f.stat().st_size == 0:
            return f"{f.name} is empty (0 bytes)"
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(p))
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)  # reads the bytes and checks their CRC32C
    except Exception as e:  # noqa: BLE001 - TF raises OpErrors, IndexError and ValueError here
        return f"it does not read back: {_first_line(e)}"
    return None


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pick_intact(directories, what: str = "checkpoint", note=_note) -> tuple[str | None, list[tuple[str, str]]]:
    """The newest intact checkpoint of the first of `directories` that has one, and the
    (prefix, reason) of each damaged one passed over. One `note` line names the newest damaged
    checkpoint and the one used; an MriGanError line when checkpoints exist but none is intact;
    (None, []) when there are none."""
    damaged = []
    for d in directories:
        for prefix in checkpoint_prefixes(d):
            why = checkpoint_damage(prefix)
            if why is None:
                if damaged:
                    more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
                    note(f"{what} {damaged[0][0]} is damaged ({damaged[0][1]}){more}: using {prefix}, "
                         f"the newest intact one")
                return prefix, damaged
            damaged.append((prefix, why))
    if damaged:
        more = f"; {len(damaged) - 1} older ones are damaged too" if len(damaged) > 1 else ""
        where = " or ".join(str(d) for d in directories)
        raise MriGanError(f"no intact {what} in {where}: {damaged[0][0]} is damaged ({damaged[0][1]}){more}")
    return None, []


def resume_checkpoint(directory, note=_note) -> str | None:
    """The checkpoint a run continues from: the newest intact one in `directory` (None when there
    is none yet). Damaged newer ones are moved into DIR/damaged/ (kept for inspection) and the
    index is rewritten to name the one used, so the next save follows it."""
    d = Path(directory)
    prefix, damaged = pick_intact([d], "checkpoint", note=lambda m: note(f"{m}; its files are moved to {d / 'damaged'}"))
    for bad, _ in damaged:
        target = d / "damaged"
        target.mkdir(exist_ok=True)
        for f in d.glob(f"{Path(bad).name}.*"):
            os.replace(f, target / f.name)
    if prefix is None or not damaged and (_indexed(d) or [None])[-1] == prefix:
        return prefix
    kept = sorted({q for q in _indexed(d) if Path(q + ".index").is_file() or Path(q + ".npz").is_file()
                   if _number(q) < _number(prefix)} | {prefix}, key=_number)
    names = [Path(q).name for q in kept]
    if Path(prefix + ".npz").is_file():
        from mri_gan.utils import atomic_write_text

        with np.load(prefix + ".npz", allow_pickle=False) as z:
            backend = json.loads(str(z["__meta__"])).get("backend", _backend())
        atomic_write_text(d / INDEX, json.dumps({"backend": backend, "latest": names[-1], "all": names}) + "\n")
    else:
        import tensorflow as tf

        tf.compat.v1.train.update_checkpoint_state(str(d), names[-1], all_model_checkpoint_paths=names)
    return prefix


def resolve_checkpoint(run, checkpoint: str | None = "auto", note=_note) -> str:
    """A checkpoint prefix (synth.checkpoint), intact (`checkpoint_damage`): `auto` (also None) =
    the best snapshot of RUN/checkpoints/best (written while training) when there is one, else the
    run's newest; `best` = that snapshot (an error without it); `last` = the newest; else a prefix
    or a dir. A damaged best or newest checkpoint gives way to the newest intact one, with one
    `note` line naming both; a damaged prefix, or no intact checkpoint, is one MriGanError line."""
    run = Path(run)
    best_dir, run_dir = run / "checkpoints" / "best", run / "checkpoints"
    for d in (best_dir, run_dir):
        if d.is_dir():
            check_backend(d, "use them")
    if checkpoint in (None, "auto", "last"):
        dirs = [best_dir, run_dir] if checkpoint != "last" else [run_dir]
        found, _ = pick_intact(dirs, note=note)
        if not found:
            raise MriGanError(f"no checkpoint in {run_dir}: train it with `mrigan-tf fit` first")
        return found
    if checkpoint == "best":
        found, _ = pick_intact([best_dir], "best snapshot", note=note)
        if not found:
            raise MriGanError(f"no best checkpoint in {best_dir}: "
                              "it is written while training when train.eval_every > 0")
        return found
    c = Path(checkpoint)
    if c.is_dir():
        check_backend(c, "use them")
        found, _ = pick_intact([c], note=note)
        if found:
            return found
        raise MriGanError(f"no checkpoint in {c}")
    if not Path(str(c) + ".index").is_file() and not Path(str(c) + ".npz").is_file():
        raise MriGanError(f"checkpoint not found: {c} (expected {c}.index or {c}.npz)")
    check_backend(c.parent, "use it")
    why = checkpoint_damage(c)
    if why:
        raise MriGanError(f"checkpoint {c} is damaged ({why}): name another one, or `last`")
    return str(c)


def checkpoint_sha256(prefix: str) -> str:
    """SHA-256 over a checkpoint's files (index + data shards), in name order."""
    h = hashlib.sha256()
    p = Path(prefix)
    files = sorted(f for f in p.parent.glob(p.name + ".*") if f.is_file())
    if not files:
        raise MriGanError(f"checkpoint files not found: {prefix}.*")
    for f in files:
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def restore_part(model, prefix: str, key: str, what: str) -> None:
    """Load one model of a run checkpoint (`key`: generator, ema_generator, discriminator) into
    `model`; a damaged or mismatching checkpoint is one MriGanError line naming `what`."""
    check_backend(Path(prefix).parent, "use it")
    if Path(str(prefix) + ".npz").is_file():
        NpzCheckpoint(**{key: model}).restore(prefix)
        return
    import tensorflow as tf

    ckpt = tf.train.Checkpoint(**{key: model})
    try:
        ckpt.restore(prefix).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, IndexError, tf.errors.OpError) as e:
        why = checkpoint_damage(prefix)
        if why:
            raise MriGanError(f"checkpoint {prefix} is damaged ({why})") from None
        raise MriGanError(f"checkpoint {prefix} does not match this run's {what}: {_first_line(e)}") from None


def restore_generator(generator, prefix: str, ema: bool) -> None:
    """Load only the generator (the EMA copy when `ema`) from a run checkpoint."""
    restore_part(generator, prefix, "ema_generator" if ema else "generator", "generator")
