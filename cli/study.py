"""`mrigan-tf study` and `mrigan-tf demo`.

Unless `mrigan-tf --verbose`, the terminal gets one progress bar per stage and a summary line;
everything the stages print (Keras' per-epoch lines, the inner steps' progress bars, warnings)
goes to DIR/study.log instead. The per-epoch numbers are also in each run's history.jsonl and
TensorBoard logs.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
LOG_NAME = "study.log"
STAGE_WORDS = ("audit", "prepare", "fit", "synthesize", "evaluate", "classify", "compare", "report")
_COMPARE_CELL = re.compile(r"^\S+ / \S+: (train|resume|done already)")
_EPOCH = re.compile(r"Epoch (\d+)/(\d+)")


def _log(msg: str) -> None:
    click.echo(f"[study] {msg}", err=True)


class _Capture:
    """A text stream that writes to DIR/study.log while the study runs (and remembers the last
    "Epoch n/m" Keras printed), then to the stream it replaced: a logging handler that bound
    itself to it meanwhile keeps working."""

    def __init__(self, log_file, original, on_epoch):
        self.file, self.original, self.on_epoch = log_file, original, on_epoch
        self.capturing = True

    def write(self, text: str) -> int:
        if not self.capturing:
            return self.original.write(text)
        found = _EPOCH.findall(text)
        if found:
            self.on_epoch(*found[-1])
        return self.file.write(text)

    def flush(self) -> None:
        (self.file if self.capturing else self.original).flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return (self.file if self.capturing else self.original).fileno()

    def __getattr__(self, name):
        return getattr(self.file if self.capturing else self.original, name)


class StageBars:
    """One tqdm bar per study stage on the terminal, moved by the study's progress lines
    (`log`): "stage X ..." opens X's bar, "skip X (done)" prints X as done already, a line that
    starts a unit of the stage (one GAN, one synthetic set, one classifier run, one compare
    cell) counts the unit before it as done. `totals(stage)` gives the stage's unit count where known."""

    def __init__(self, stream, totals=lambda stage: None):
        self.stream, self.totals = stream, totals
        self.bar, self.stage, self.started = None, None, 0
        self.times: dict[str, float] = {}
        self._t0 = 0.0

    def _open(self, stage: str) -> None:
        from tqdm import tqdm

        self.close()
        try:
            total = self.totals(stage)
        except Exception:  # noqa: BLE001 - a count is a nicety; the bar works without one
            total = None
        self.stage, self._t0, self.started = stage, time.perf_counter(), 0
        self.bar = tqdm(total=total, desc=f"{stage:<10}", unit="step", file=self.stream, leave=True,
                        dynamic_ncols=True, disable=False, mininterval=0.5,
                        bar_format="{desc} {n_fmt}/{total_fmt} |{bar:24}| {elapsed}{postfix}" if total else
                        "{desc} {n_fmt} steps, {elapsed}{postfix}")

    def close(self, complete: bool = True) -> None:
        if self.bar is None:
            return
        if complete:  # the last unit is done, and units done before were skipped quietly
            self.bar.update((self.bar.total - self.bar.n) if self.bar.total else int(self.started > 0))
        self.bar.set_postfix_str("", refresh=False)
        self.bar.close()
        self.stream.flush()  # the bar's last newline, before anything printed on stdout
        self.times[self.stage] = time.perf_counter() - self._t0
        self.bar = None

    def log(self, msg: str) -> None:
        m = re.match(r"^stage (\S+) \.\.\.$", msg)
        if m:
            self._open(m.group(1))
            return
        m = re.match(r"^skip (\S+) \(done\)$", msg)
        if m:
            self.close()
            self.stream.write(f"{m.group(1):<10} done already\n")
            self.stream.flush()
            return
        first = msg.split(" ", 1)[0]
        if first in STAGE_WORDS and first != self.stage and (self.bar is None or self.bar.total is None):
            self._open(first)  # a design without "stage" lines (few_labels): its steps name the stage
        if self.bar is None:
            self._open("study")
        unit = _COMPARE_CELL.match(msg) if self.stage == "compare" else first == self.stage or self.stage == "study"
        if unit:
            if self.started and (self.bar.total is None or self.bar.n < self.bar.total):
                self.bar.update(1)  # a new unit starts: the one before it is done
            self.started += 1
        self.bar.set_postfix_str(_short(msg), refresh=self._live())

    def epoch(self, n: str, of: str) -> None:
        if self.bar is not None:
            text = re.sub(r"(, )?epoch \d+/\d+$", "", self.bar.postfix or "")
            self.bar.set_postfix_str(f"{text}, epoch {n}/{of}" if text else f"epoch {n}/{of}", refresh=self._live())

    def _live(self) -> bool:
        """Redraw on every change only on a terminal; a file or pipe gets a line per unit."""
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())


def _short(msg: str, width: int = 60) -> str:
    msg = re.sub(r" -> \S+$", "", msg)  # the run dir: long and in the log
    return msg if len(msg) <= width else msg[: width - 1] + "…"


def _stage_totals(cfg, data_root, out):
    """Units per stage of the tables design, from the study's layout (None where not known yet)."""
    from mri_gan.experiments.layout import StudyLayout

    layout = StudyLayout(cfg, data_root, out)
    s = cfg.study

    def totals(stage):
        if stage in ("audit", "report"):
            return 1
        if stage == "prepare":
            return len(s.sizes) * len(layout.splits_needed())
        if stage == "fit":
            return sum(len(layout.gan_runs(size)) for size in s.sizes)
        if stage in ("synthesize", "evaluate"):
            return len(list(layout.synthetic_units()))
        if stage == "classify":
            return len(layout.classifier_runs())
        if stage == "compare":
            return len(s.sizes) * len(cfg.compare.kinds) * len(cfg.compare.classes)
        return None

    return totals


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _restore(stdout, stderr, *captures) -> None:
    sys.stdout, sys.stderr = stdout, stderr
    for c in captures:
        c.flush()
        c.capturing = False


def run_quietly(cfg, data_root, out) -> dict:
    """`run_study` with one bar per stage on stderr and everything else in OUT/study.log;
    prints a summary line at the end (and where the log is when a stage fails)."""
    from mri_gan.experiments.study import run_study

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / LOG_NAME
    terminal = sys.stderr
    t0 = time.perf_counter()
    with open(log_path, "a", encoding="utf-8", buffering=1) as log_file:
        log_file.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n")
        totals = _stage_totals(cfg, data_root, out) if cfg.study.design == "tables" else (lambda stage: None)
        bars = StageBars(terminal, totals)
        stdout, stderr = sys.stdout, sys.stderr
        cap_out = _Capture(log_file, stdout, bars.epoch)
        cap_err = _Capture(log_file, stderr, bars.epoch)

        def log(msg: str) -> None:
            log_file.write(f"[study] {msg}\n")
            bars.log(msg)

        sys.stdout, sys.stderr = cap_out, cap_err
        try:
            record = run_study(cfg, data_root, out, log=log)
        except BaseException as e:
            _restore(stdout, stderr, cap_out, cap_err)
            stage = bars.stage
            bars.close(complete=False)
            if isinstance(e, KeyboardInterrupt):  # the stage's own line went to the log
                _interrupted(e, out, stage, f" (full log: {log_path})")
            else:
                click.echo(f"full log: {log_path}", err=True)
            raise
        _restore(stdout, stderr, cap_out, cap_err)
        bars.close()
    if cfg.study.design == "few_labels":  # its record is the table: no stages, no report.html
        ns = sorted({r["n"] for r in (record or {}).get("rows", [])}, key=lambda n: (n == "all", len(n), n))
        click.echo(f"done in {_minutes(time.perf_counter() - t0)}: N = {', '.join(ns) or '-'} per class, "
                   f"{len((record or {}).get('rows', []))} arm(s) scored; table: {out / 'few_labels.md'} "
                   f"(figure few_labels.png, numbers few_labels.json); full log: {log_path}")
        return record
    stages = (record or {}).get("stages", {})
    ran = [s for s, v in stages.items() if v.get("status") == "ran"]
    skipped = [s for s, v in stages.items() if v.get("status") == "skipped"]
    slow = sorted(((bars.times.get(s, stages[s].get("seconds", 0)), s) for s in ran), reverse=True)[:2]
    where = ", ".join(f"{s} {_minutes(t)}" for t, s in slow)
    click.echo(f"done in {_minutes(time.perf_counter() - t0)}: {len(ran)} stage(s) ran"
               f"{f' ({where} the longest)' if where else ''}, {len(skipped)} done already; "
               f"report: {out / 'report.html'} (and report.md, tables/); full log: {log_path}")
    return record


def _interrupted(e: KeyboardInterrupt, out, stage, more: str = "") -> None:
    """The one line of a Ctrl-C or SIGTERM: where the study stopped, and that re-running continues."""
    from mri_gan.interrupts import describe

    where = f" during stage {stage}" if stage and stage != "study" else ""
    click.echo(f"{describe(e)}{where}: {out} keeps the finished stages and units; run the same command again "
               f"to continue{more}", err=True)
    e.reported = True  # the CLI prints no second line


def _run(cfg, data_root, out) -> None:
    """The study, with SIGTERM (a scheduler's stop) handled as Ctrl-C: one line, exit 130 / 143,
    and re-running the command continues (finished stages and units are skipped)."""
    from cli.common import is_verbose
    from mri_gan.interrupts import catch_sigterm, restore_sigterm

    previous = catch_sigterm()
    try:
        if is_verbose():
            from mri_gan.experiments.study import run_study

            try:
                run_study(cfg, data_root, out, log=_log)
            except KeyboardInterrupt as e:
                if not getattr(e, "reported", False):
                    _interrupted(e, out, None)
                raise
            click.echo(f"report: {Path(out) / 'report.html'}  (and report.md, tables/)")
        else:
            run_quietly(cfg, data_root, out)
    finally:
        restore_sigterm(previous)


@click.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--data", "data_root", required=True, type=click.Path(), help="Raw data: ROOT/Training|Testing/<class>/ or ROOT/<class>/.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Study directory (re-run to resume).")
@click.option("-s", "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
def study(config, data_root, out, overrides, dry_run):
    """Run the whole study of CONFIG: audit, prepare, fit, synthesize, evaluate, classify,
    compare and report. Resumable: finished stages and units are skipped. Shows one progress
    bar per stage (OUT/study.log keeps every line; `mrigan-tf --verbose study ...` prints them)."""
    from cli.common import dry_run_exit, existing_dir, quiet_tensorflow, resolve_gan_config

    cfg, _ = resolve_gan_config(config, overrides, None)
    if dry_run:
        dry_run_exit(cfg)
    existing_dir(data_root, "data root")
    quiet_tensorflow()
    _run(cfg, data_root, out)


@click.command()
@click.option("--out", default="demo-study", show_default=True, type=click.Path(file_okay=False), help="Study directory.")
@click.option("-s", "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE", help="Override a config key (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
def demo(out, overrides, dry_run):
    """Run configs/quick.yaml on the bundled sample (assets/sample): a few minutes on a laptop CPU.
    Shows one progress bar per stage (OUT/study.log keeps every line)."""
    from cli.common import dry_run_exit, quiet_tensorflow, resolve_gan_config
    from mri_gan.errors import MriGanError

    config, data = REPO / "configs" / "quick.yaml", REPO / "assets" / "sample"
    if not config.is_file() or not data.is_dir():
        raise MriGanError(f"demo needs {config} and {data}: run it from a source checkout (pip install -e .)")
    cfg, _ = resolve_gan_config(config, overrides, None)
    if dry_run:
        dry_run_exit(cfg)
    quiet_tensorflow()
    _run(cfg, data, out)
