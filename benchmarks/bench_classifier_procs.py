"""Two classifier runs at once with one thread each, against one run with both cores.

The study trains its classifier seeds one after another, each with TensorFlow's default threads
(every core). On a 2-core CPU the alternative is two seeds at once, each with one thread: this
measures what that would give. Side A: one process, TensorFlow's threads set to the core count,
one training epoch timed after another. Side B: as many processes as cores at the same time,
one thread each. Each process is `bench_classifier_xla.py`'s child (the classifier variant on the
same images, batch 32, plain graph), so the throughputs are images/s over the median epoch
(after the first); the ratio is B's summed throughput over A's. The sides alternate which runs
first, ROUNDS times.

    python benchmarks/bench_classifier_procs.py --data study/subsets/n100 --rounds 3 --variants paper,paper+augment
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).with_name("bench_classifier_xla.py")


def _start(variant: str, threads: int, args) -> subprocess.Popen:
    cmd = [sys.executable, str(CHILD), "--child", "--variant", variant, "--threads", str(threads),
           "--epochs", str(args.epochs), "--n", str(args.n), "--size", str(args.size)]
    cmd += ["--data", args.data] if args.data else []
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def _result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"a benchmark child failed (exit {proc.returncode})")
    return json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])


def one_process(variant: str, cores: int, args) -> float:
    r = _result(_start(variant, cores, args))
    return r["images"] / r["epoch_s"]


def processes(variant: str, cores: int, args) -> float:
    procs = [_start(variant, 1, args) for _ in range(cores)]
    return sum(r["images"] / r["epoch_s"] for r in map(_result, procs))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="paper,paper+augment")
    ap.add_argument("--data", default="", help="a prepared dir: its training images through the package's pipeline")
    ap.add_argument("--n", type=int, default=360, help="random training images without --data")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    cores = os.cpu_count() or 1
    rows = []
    for variant in args.variants.split(","):
        for r in range(args.rounds):
            sides = [("one", one_process), ("procs", processes)]
            t = {name: fn(variant, cores, args) for name, fn in (sides if r % 2 == 0 else sides[::-1])}
            row = {"variant": variant, "round": r + 1, "one_process_img_s": t["one"],
                   "processes_img_s": t["procs"], "ratio": t["procs"] / t["one"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(f"| variant | round | one process, {cores} threads: img/s | {cores} processes, 1 thread each: img/s (summed) | ratio |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['variant']} | {row['round']} | {row['one_process_img_s']:.1f} | {row['processes_img_s']:.1f} | "
              f"{row['ratio']:.2f}x |")
    if args.out:
        from mri_gan.utils import write_json

        write_json(Path(args.out) / "bench.json", {"rows": rows, "args": vars(args), "cpu_count": cores})


if __name__ == "__main__":
    main()
