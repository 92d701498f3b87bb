"""`mrigan-tf`: one click group; each command lives in its own module and is imported only
when it runs, so `mrigan-tf --help` answers without importing TensorFlow."""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from mri_gan import __version__
from mri_gan.errors import MriGanError

# command name -> "module:function"; order is the pipeline order shown by --help.
COMMANDS = {
    "audit": ("cli.audit:audit", "Audit a dataset: unreadable files, duplicates, train/test leaks."),
    "prepare": ("cli.prepare:prepare", "Crop margins, resize, grayscale and split into DIR/train|test/<class>/."),
    "fit": ("cli.fit:fit", "Train a GAN on one class (or all, conditional) of a prepared dir."),
    "synthesize": ("cli.synthesize:synthesize", "Write N synthetic PNGs (seeded, marked synthetic) from a run."),
    "export": ("cli.export:export", "Export a run's generator as SavedModel and .keras."),
    "evaluate": ("cli.evaluate:evaluate", "PSNR/MSE/SSIM, FID/KID, precision/recall, diversity, copy audit."),
    "classify": ("cli.classify:classify", "Train the Table II CNN on real (+ synthetic) images over seeds."),
    "predict": ("cli.predict:predict", "Classify image files with a trained classifier."),
    "compare": ("cli.compare:compare", "Train and evaluate several GAN kinds per class (paper Table VI)."),
    "study": ("cli.study:study", "Run the whole study from a config and write a report."),
    "demo": ("cli.study:demo", "Run the quick study on the bundled sample in assets/."),
}


def _is_ours(module_name: str | None) -> bool:
    """Whether a missing module belongs to this project (then it is a bug, not an optional package)."""
    top = (module_name or "").split(".")[0]
    return top in {"cli", "mri_gan"} | {t.split(":")[0].split(".")[0] for t, _ in COMMANDS.values()}


def _load_error(name: str, module: str, e: BaseException) -> str:
    """One line: which command, where (the innermost file:line of the failure) and what."""
    if isinstance(e, SyntaxError) and e.filename:
        where = f"{e.filename}:{e.lineno}"
    else:
        frames = traceback.extract_tb(e.__traceback__)
        ours = [f for f in frames if "importlib" not in f.filename] or frames
        where = f"{ours[-1].filename}:{ours[-1].lineno}" if ours else module
    text = str(e).splitlines()[0] if str(e) else ""
    return f"command {name!r} cannot be loaded: {where}: {type(e).__name__}: {text}"


def _write_failure(e: BaseException) -> str | None:
    """One line for a disk-full (or quota, read-only, I/O) error that reached the CLI unexplained:
    such an OSError, or TensorFlow's error whose message says so; None otherwise."""
    from mri_gan.errors import as_write_error

    w = as_write_error(e)
    if w is not None:
        return str(w)
    text = str(e)
    if type(e).__module__.startswith("tensorflow") and "No space left on device" in text:
        return f"cannot write: {text.strip().splitlines()[-1][:300]}"
    return None


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        target, short_help = COMMANDS[name]
        module, attr = target.split(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if _is_ours(e.name):  # a module of this project is missing: a real bug
                raise click.ClickException(_load_error(name, module, e)) from None
            missing_package = e.name

            @click.command(name=name, help=short_help, short_help=short_help)
            def missing():
                raise click.ClickException(f"command {name!r} is not available: it needs the package "
                                           f"{missing_package!r}, which is not installed")

            return missing
        except Exception as e:  # noqa: BLE001 - an ImportError/AttributeError/SyntaxError in our code
            raise click.ClickException(_load_error(name, module, e)) from None
        cmd = getattr(mod, attr, None)
        if not isinstance(cmd, click.Command):
            raise click.ClickException(f"command {name!r} cannot be loaded: {mod.__file__} has no command {attr!r}")
        cmd.short_help = short_help
        return cmd

    def format_commands(self, ctx, formatter):
        # Use the static help strings so that --help does not import every command module.
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MriGanError as e:
            raise click.ClickException(str(e)) from None
        except Exception as e:  # noqa: BLE001 - a failed write no command turned into its own line
            line = _write_failure(e)
            if line is None:
                raise
            raise click.ClickException(line) from None
        except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM where a command routes it (mri_gan/interrupts.py)
            from mri_gan.interrupts import describe, exit_code

            if not getattr(e, "reported", False):  # else the command printed its line
                click.echo(describe(e), err=True)
            sys.exit(exit_code(e))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mrigan-tf")
@click.option("-v", "--verbose", is_flag=True,
              help="Show TensorFlow's start-up log lines and, in study/demo, every per-epoch Keras line.")
@click.pass_context
def cli(ctx, verbose):
    """mri-gan: synthesize brain MRI slices with GANs and measure, honestly, whether they help.

    Pipeline: audit -> prepare -> fit -> synthesize -> evaluate -> classify; `compare` runs the
    baselines, `study` runs everything from one config, `demo` runs it on the bundled sample.
    """
    from cli.common import quiet_tensorflow

    ctx.ensure_object(dict)["verbose"] = verbose
    quiet_tensorflow()  # before any command can import TensorFlow


def main(argv=None):
    cli.main(args=argv, prog_name="mrigan-tf")


if __name__ == "__main__":
    main()
