"""tf.distribute for real on CPU: 2 logical CPUs under MirroredStrategy vs 1 replica.

Logical devices must be configured before TensorFlow initialises, so this runs in a fresh
Python process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from mri_gan.config import Config
    from mri_gan.gans.fit import run_fit
    from mri_gan.utils import read_jsonl

    prep, out, conditional = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    res = {}
    for strategy in ("mirrored", "default"):
        cfg = Config()
        g = cfg.gan
        g.g_width, g.g_min_width, g.d_width, g.d_max_width, g.latent_dim = 32, 8, 8, 32, 16
        g.spectral_norm = True  # checked below: sigma stays ~1 with 2 replicas
        g.conditional = conditional  # class-conditional BatchNorm in G, projection D
        cfg.train.batch_size, cfg.train.sample_every, cfg.train.strategy = 16, 0, strategy
        # ADA with target -1: p rises by batch * interval / speed at every update (known values)
        cfg.train.ema, cfg.train.ada, cfg.train.ada_interval, cfg.train.ada_target = 0.9, True, 2, -1.0
        r = run_fit(prep, "all", f"{out}/{strategy}", cfg, epochs=2, verbose=0)
        gan = r["gan"]
        sig = []
        for layer in gan.discriminator.layers:
            if type(layer).__name__ == "SpectralNormalization":
                k = np.array(layer.layer.kernel)
                sig.append(float(np.linalg.svd(k.reshape(-1, k.shape[-1]), compute_uv=False)[0]))
        res[strategy] = {"replicas": r["replicas"], "conditional": bool(gan.settings.conditional),
                         "history": read_jsonl(f"{out}/{strategy}/history.jsonl"),
                         "sigma": sig, "g_steps": int(gan.g_optimizer.iterations.numpy()),
                         "ada_p": float(gan.ada_p.numpy()), "ada_speed": cfg.train.ada_speed}
    print("RESULT " + json.dumps(res))
""")


@pytest.mark.slow
@pytest.mark.parametrize("conditional", [False, True])
def test_two_replicas_match_one(tmp_path, tiny_prep, conditional):
    """The default kind (and its conditional form) under MirroredStrategy on 2 logical CPUs trains
    like 1 replica: the same steps, losses, ADA probability and spectral norms."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_prep), str(tmp_path), str(int(conditional))],
                       capture_output=True, text=True, env=env, timeout=300)
    line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
    assert p.returncode == 0 and line, p.stderr[-3000:]
    res = json.loads(line[0][7:])
    two, one = res["mirrored"], res["default"]
    assert two["replicas"] == 2 and one["replicas"] == 1
    assert two["conditional"] == one["conditional"] == conditional
    assert two["g_steps"] == one["g_steps"] == 12  # 96 images / global batch 16, 2 epochs
    assert [h["epoch"] for h in two["history"]] == [h["epoch"] for h in one["history"]] == [1, 2]
    for a, b in zip(two["history"], one["history"], strict=True):
        # the same global batch: per-replica values must not be halved (keras issue 15509)
        for k in ("d_loss", "g_loss", "d_real", "d_fake"):
            assert abs(a[k] - b[k]) < 0.08 * max(1.0, abs(b[k])), (a["epoch"], k, a[k], b[k])
    # ADA p: 6 updates (12 steps / interval 2) of global batch 16 * interval 2 / speed each, on
    # every replica count; its epoch means are those of the p after each step (0, s, s, 2s, ...)
    step = 16 * 2 / one["ada_speed"]
    for r in (one, two):
        assert r["ada_p"] == pytest.approx(6 * step, rel=1e-5)
        assert [h["ada_p"] for h in r["history"]] == pytest.approx([1.5 * step, 4.5 * step], rel=1e-4)
    assert all(abs(s - 1.0) < 0.2 for s in two["sigma"]), two["sigma"]


WORKER = textwrap.dedent("""
    import sys
    import numpy as np
    from mri_gan.config import load_config
    from mri_gan.gans.fit import run_fit

    prep, out, weights = sys.argv[1:4]
    cfg = load_config(None, ["gan.g_width=32", "gan.g_min_width=8", "gan.d_width=8", "gan.d_max_width=32",
                             "gan.latent_dim=16", "train.batch_size=16", "train.sample_every=0",
                             "train.strategy=multiworker"])
    r = run_fit(prep, "all", out, cfg, epochs=1, verbose=0)
    gan = r["gan"]
    trainable = gan.generator.trainable_weights + gan.discriminator.trainable_weights
    np.savez(weights, *[np.asarray(w) for w in trainable], g_steps=int(gan.g_optimizer.iterations.numpy()),
             replicas=r["replicas"], ada_p=float(gan.ada_p.numpy()))
""")


@pytest.mark.slow
def test_two_local_workers(tmp_path, tiny_prep):
    """MultiWorkerMirroredStrategy with 2 worker processes on localhost ports (TF_CONFIG): both
    workers end with the same trainable weights (the gradients were all-reduced), trained by 6
    steps of the global batch, and only the chief writes the run's history. (BatchNorm's moving
    statistics are not compared: each worker keeps those of its own half of the batch.)"""
    import socket

    import numpy as np

    ports = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("localhost", 0))
        ports.append(s.getsockname()[1])
        s.close()
    workers = [f"localhost:{p}" for p in ports]
    procs = []
    for i in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT), TF_CONFIG=json.dumps(tf_config))
        out = tmp_path / ("run" if i == 0 else "run_worker1")
        cmd = [sys.executable, "-c", WORKER, str(tiny_prep), str(out), str(tmp_path / f"weights{i}.npz")]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    w0, w1 = (np.load(tmp_path / f"weights{i}.npz") for i in range(2))
    assert int(w0["replicas"]) == int(w1["replicas"]) == 2
    assert int(w0["g_steps"]) == int(w1["g_steps"]) == 6  # 96 images / global batch 16
    arrays = [k for k in w0.files if k.startswith("arr_")]
    assert arrays and sorted(arrays) == sorted(k for k in w1.files if k.startswith("arr_"))
    for k in arrays:
        np.testing.assert_allclose(w0[k], w1[k], rtol=1e-6, atol=1e-7, err_msg=k)
    assert len((tmp_path / "run" / "history.jsonl").read_text().splitlines()) == 1


@pytest.mark.slow
def test_ctrl_c_then_kill_9_then_resume(tmp_path, tiny_prep):
    """Ctrl-C saves a checkpoint and exits 130; kill -9 at a random moment leaves a run that
    --resume finishes with one history line per epoch."""
    import signal
    import time

    from mri_gan.utils import read_jsonl

    run = tmp_path / "run"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    base = [sys.executable, "-m", "cli.main", "fit", "--out", str(run), "--epochs", "40"]
    tiny = ["-s", "gan.g_width=32", "-s", "gan.g_min_width=8", "-s", "gan.d_width=8", "-s", "gan.d_max_width=32",
            "-s", "gan.latent_dim=16", "-s", "train.batch_size=8", "-s", "train.sample_every=0"]

    def start(extra):
        return subprocess.Popen(base + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def wait_for_epochs(n, proc, limit=240):
        t0 = time.time()
        while time.time() - t0 < limit and proc.poll() is None:
            if len(read_jsonl(run / "history.jsonl")) >= n:
                return
            time.sleep(0.2)
        raise AssertionError(f"no epoch {n} in time: {proc.poll()}")

    p = start(["--data", str(tiny_prep), "--class", "glioma", *tiny])
    wait_for_epochs(2, p)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "checkpoint" in err and "Traceback" not in err, err[-2000:]
    done = len(read_jsonl(run / "history.jsonl"))
    p = start(["--resume"])
    wait_for_epochs(done + 2, p)
    time.sleep(0.37)  # somewhere inside an epoch or a checkpoint write
    p.send_signal(signal.SIGKILL)
    p.wait()
    p = start(["--resume"])
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-2000:]
    assert [r["epoch"] for r in read_jsonl(run / "history.jsonl")] == list(range(1, 41))
