"""The one config object. Every default of the project lives here, and only here.

A `Config` is a tree of dataclasses, one section per stage. It is loaded from a YAML file in
`configs/` (any subset of keys; the rest keep the defaults below), then overridden from the
command line with `-s section.key=value` (repeatable; the value is parsed as YAML, so
`-s classifier.epochs=[5,10]` and `-s train.ema=true` work). Every command that produces
results writes the resolved config as `config.yaml` into its output directory.

Each key is documented once, in the comment beside it. Values are checked when a config is
loaded (type, the allowed choices of a string key, the range of a number: `mri_gan.config_values`; the error names the
key), and a key that the chosen `gan.kind` ignores draws a one-line warning. A GAN run saves its
effective config (`mri_gan.gans.factory.effective_config`: what training used, e.g. `gan.pack: 1`
under the dcgan kind). Options retired with the evidence that retired them: docs/defaults.md,
"Retired options".
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mri_gan.config_values import RETIRED, check_value
from mri_gan.errors import MriGanError


@dataclass
class DataConfig:
    size: int = 64  # output side in px (prepare / GAN / classifier input), a power of two for GANs
    split: str = "dedup"  # shipped | dedup | grouped: which train/test split `prepare` writes
    test_fraction: float = 0.2  # test share when a split is made (plain ROOT/<class>/ tree, grouped)
    seed: int = 0  # seed of every split decision
    drop_leaks: bool = True  # remove test images that duplicate a training image (exact or near)
    dedup_within: bool = True  # keep only one copy of duplicates inside a split
    near_threshold: int = 20  # Hamming distance (256-bit pHash of the cropped image) for near duplicates
    group_threshold: int = 44  # looser Hamming distance that links slices of one series (grouped split)
    crop_threshold: int = 10  # gray level (0-255) above which a pixel counts as head, for margin removal
    pad: bool = True  # keep aspect ratio by padding with black to a square (False: stretch)
    min_side: int = 16  # images with a side below this many px are reported unreadable ("too small")
    workers: int = 0  # processes for audit/prepare; 0 = all cores
    batch_size: int = 64  # default batch of the tf.data pipelines
    shuffle_buffer: int = 2048  # tf.data shuffle buffer (in images)


@dataclass
class GanConfig:
    kind: str = "dcgan"  # dcgan | proposed (the paper's Table I) | lsgan | wgan_gp | infogan; why dcgan: docs/defaults.md
    loss: str = ""  # override the kind's loss: bce | lsgan | wgan_gp | hinge ("" = the kind's own)
    conditional: bool = False  # one GAN for all classes: G conditioned on the label (class-conditional BatchNorm for dcgan, label embedding for Table I kinds), projection D; not infogan
    latent_dim: int = 128  # size of the latent vector z
    start_res: int = 4  # side of the 3-D volume after Dense -> Reshape in the generator
    g_width: int = 256  # channels of the generator's first volume; halves at each upsampling
    g_min_width: int = 32  # generator channels never go below this
    d_width: int = 32  # channels of the discriminator's first conv; doubles at each stride-2 conv
    d_max_width: int = 256  # discriminator channels never go above this
    minibatch_std: int = 0  # D: minibatch-stddev channel over groups of N images against mode collapse (Karras et al. 2018; 0 = off, as Table I); Table I D kinds without R1 / WGAN-GP only
    spectral_norm: bool = False  # spectral normalization on D's layers (Table I: true); not for dcgan or wgan_gp
    n_critic: int = 0  # discriminator steps per generator step (0 = the kind's default: 5 for wgan_gp, else 1)
    gp_weight: float = 10.0  # gradient-penalty weight lambda (the wgan_gp loss only)
    info_categorical: int = 10  # InfoGAN: size of the categorical code (0 = none)
    info_continuous: int = 2  # InfoGAN: number of uniform(-1, 1) continuous codes
    info_weight: float = 1.0  # InfoGAN: weight of the mutual-information term
    pack: int = 2  # PacGAN: D scores packs of N images (1 = off); proposed, lsgan and wgan_gp kinds only
    r1_gamma: float = 0.1  # R1 penalty weight gamma: D loss += gamma / 2 * E||grad D(real)||^2 (0 = off; not with wgan_gp)
    r1_every: int = 16  # lazy R1: apply the penalty on every Nth D update, weighted by N (1 = every update)


@dataclass
class TrainConfig:
    epochs: int = 20  # GAN training epochs (used when train.kimg is 0)
    kimg: float = 480.0  # run length in thousands of real images shown, rounded up to whole epochs; > 0 replaces train.epochs (0 = use epochs)
    eval_every: float = 20.0  # quality measurement (KID, precision/recall/coverage, MS-SSIM, nearest SSIM, copies) every N kimg into RUN/metrics.jsonl; the best is kept as checkpoints/best (0 = off)
    best_by: str = "targets"  # which measurement checkpoints/best keeps: targets (most quality targets met, then lowest KID) | kid; a conditional run by its worst class
    patience: int = 0  # early stop after N measurements without a better one (0 = off)
    eval_n: int = 920  # fakes per quality measurement, per class in a conditional run (reals: as many of the class's training images, at most all)
    batch_size: int = 32  # global batch (split across replicas)
    g_lr: float = 1e-4  # generator Adam learning rate
    d_lr: float = 2e-4  # discriminator Adam learning rate
    beta_1: float = 0.5  # Adam beta_1
    beta_2: float = 0.999  # Adam beta_2
    seed: int = 0  # seed of weights init, latent sampling and data order
    precision: str = "float32"  # float32 | mixed_bfloat16 | mixed_float16 | auto (bf16 where the CPU/GPU has it, else float32; mri_gan/precision.py)
    strategy: str = "auto"  # auto | default | mirrored | multiworker
    sample_every: int = 0  # also write a sample grid every N batches (0 = off)
    sample_epochs: int = 1  # also write a sample grid at every Nth epoch end (1 = each epoch)
    sample_grid: int = 8  # the sample grid is N x N images from a fixed latent batch
    checkpoint_every: int = 1  # checkpoint every N epochs (and always at the end and on Ctrl-C)
    keep_checkpoints: int = 3  # how many checkpoints to keep
    diffaugment: str = ""  # DiffAugment policy on D's inputs: any of translation,cutout,color ("" = off)
    diffaugment_per: str = "group"  # image (one DiffAugment/ADA draw per image) | group (one per minibatch-stddev group / PacGAN pack)
    ada: bool = False  # adaptive discriminator augmentation
    ada_target: float = 0.6  # ADA: target of E[sign(D(real))]
    ada_interval: int = 4  # ADA: adjust p every N steps
    ada_speed: float = 20000.0  # ADA: images for p to move from 0 to 1
    ema: float = 0.999  # generator EMA decay for sampling, with a warm-up min(ema, (1 + n) / (10 + n)) after n G steps (0 = off)
    reuse_fakes: bool = True  # one G forward per step: the last D update and the G update share the fakes (False = fresh fakes for each)
    steps_per_execution: int = 1  # Keras steps_per_execution (fewer Python round trips)
    jit_compile: str = "auto"  # TensorFlow: XLA-compile the GAN steps without an R1 update: true | false | auto (XLA on a GPU, and on a CPU unless TensorFlow runs its kernels with oneDNN); off with several replicas, always on under JAX


@dataclass
class SynthConfig:
    n: int = 920  # images to synthesize per class
    seed: int = 0  # latent seed: same seed => byte-identical files
    batch_size: int = 64  # generator batch while synthesizing
    checkpoint: str = "auto"  # auto = the best snapshot (RUN/checkpoints/best, train.best_by) when the run has one, else the newest | best (must exist) | last (the newest) | a checkpoint prefix or dir
    select: str = "none"  # which draws to keep (mri_gan/gans/selection.py): none | discriminator | realism | confidence
    oversample: int = 4  # candidates drawn per kept image when select is not none (k of k x n)
    select_threshold: float = 0.9  # select confidence: the own-class probability a kept image needs, in [0, 1]


@dataclass
class EvalConfig:
    features: str = "classifier"  # classifier | inception | PATH to a .keras feature model
    shortlist_k: int = 10  # nearest-real search: exact SSIM on the top-k by MSE on downsized images
    shortlist_size: int = 32  # side of the downsized images for the MSE shortlist
    shortlist_normalize: bool = True  # standardize each downsized image (zero mean, unit norm) before the MSE shortlist
    psnr_cap: float = 100.0  # PSNR of identical images (inf) is reported as this
    kid_subsets: int = 50  # KID: number of random subsets
    kid_subset_size: int = 100  # KID: images per subset (capped at the set size)
    pr_k: int = 5  # k of the k-NN manifolds for precision/recall/density/coverage
    ms_ssim_pairs: int = 500  # random pairs for the mean pairwise MS-SSIM
    copy_quantile: float = 0.01  # memorization: threshold = this quantile of real-vs-real nearest distances
    nearest_ssim_target: float = 0.45  # quality target: the fakes' mean nearest-real SSIM must reach this (0-1; set from unseen real slices of the same size, docs/defaults.md)
    worst_examples: int = 8  # fake | nearest-real pairs drawn in the memorization figure
    seed: int = 0  # seed of the random pairing, KID subsets and pair sampling
    feature_epochs: int = 5  # epochs of the feature classifier trained on the real training data
    feature_head: str = "flatten"  # head of that feature classifier (flatten | gap); its "features" layer is used
    inception_weights: str = ""  # InceptionV3 no-top weights file ("" = the Keras cache, ~/.keras/models/)
    feature_batch: int = 64  # images per feature-extractor call


@dataclass
class ClassifierConfig:
    preset: str = "paper"  # paper (Table II: the defaults below) | strong (a from-scratch recipe: CLASSIFIER_PRESETS); sets its keys first, keys given beside it or after it win
    epochs: list[int] = field(default_factory=lambda: [5, 10, 30])  # evaluate on test after these epochs
    seeds: int = 3  # number of seeds (0, 1, ..., seeds-1)
    batch_size: int = 32  # batch size
    lr: float = 1e-3  # learning rate (peak learning rate with lr_schedule cosine)
    val_fraction: float = 0.1  # share of the real training split held out for validation
    filters: list[int] = field(default_factory=lambda: [64, 128])  # conv filters of each block (conv(s) -> 2x2 max-pool); Table II: 64, 128
    convs_per_block: int = 1  # 3x3 convolutions per block (Table II: 1)
    padding: str = "valid"  # valid (Table II) | same
    batchnorm: bool = False  # BatchNormalization after each conv, before its ReLU (the conv then has no bias)
    head: str = "flatten"  # flatten (the paper's Table II) | gap (global average pooling)
    dropout: float = 0.0  # dropout before the Dense(256) layer and before the output
    augment: bool = False  # random horizontal flips, rotations (±18°), zoom (±10 %), shifts (±5 %) on training images
    augment_intensity: bool = False  # random brightness (±10 % of the range) and contrast (±10 %) on training images
    optimizer: str = "adam"  # adam (the paper's) | adamw (decoupled weight decay, classifier.weight_decay)
    weight_decay: float = 0.0  # AdamW weight decay (optimizer adamw only)
    lr_schedule: str = "constant"  # constant | cosine (keras CosineDecay from lr to 0 over the whole run, after the warm-up)
    warmup_epochs: float = 0.0  # cosine: linear warm-up from 0 to lr over this many epochs
    label_smoothing: float = 0.0  # cross-entropy label smoothing (0 = off)
    class_weights: bool = False  # weight the loss by inverse class frequency
    precision: str = "float32"  # float32 | mixed_bfloat16 | mixed_float16 | auto (as train.precision)
    jit_compile: str = "auto"  # TensorFlow: XLA-compile the train, test and predict steps: true | false | auto (XLA on a GPU, the plain graph on a CPU)
    compare_real: bool = False  # also run the real-only baseline with the same seeds (paired difference)
    synthetic_only: bool = False  # TSTR: train on synthetic only, test on real
    synthetic_share: float = 1.0  # with synthetic images: the share of the epochs (the first ones, rounded, at least 1) trained on real + synthetic; the rest train on the real images alone (1 = real + synthetic throughout)
    baseline_from: str = ""  # with compare_real: reuse the real-only runs of this classify RUN dir (same data, seeds, settings)

    @classmethod
    def from_preset(cls, preset: str = "paper", **keys) -> "ClassifierConfig":
        """The preset's settings, then `keys` (as `classifier: {preset: ..., key: ...}` in a file)."""
        c = cls()
        _apply_preset(c, preset)
        for k, v in keys.items():
            setattr(c, k, v)
        return c


# A preset is a set of classifier keys; "paper" is the defaults above, so it resets what "strong"
# changes. The strong recipe: VGG-like stack of 3x3 conv pairs with BatchNorm, global
# average pooling, dropout, augmentation on the fly, AdamW, cosine schedule, label smoothing.
CLASSIFIER_PRESETS: dict[str, dict[str, Any]] = {
    "strong": {
        "filters": [32, 64, 128, 256], "convs_per_block": 2, "padding": "same", "batchnorm": True,
        "head": "gap", "dropout": 0.3, "augment": True, "augment_intensity": True,
        "optimizer": "adamw", "weight_decay": 0.05, "lr_schedule": "cosine",
        "warmup_epochs": 1.0, "label_smoothing": 0.1,
    },
}
CLASSIFIER_PRESETS["paper"] = {k: getattr(ClassifierConfig(), k) for k in CLASSIFIER_PRESETS["strong"]}


def _apply_preset(c: ClassifierConfig, preset: Any) -> None:
    if preset not in CLASSIFIER_PRESETS:
        raise MriGanError(f"classifier.preset must be one of {', '.join(CLASSIFIER_PRESETS)}, got {preset!r}")
    for k, v in CLASSIFIER_PRESETS[preset].items():
        setattr(c, k, list(v) if isinstance(v, list) else v)
    c.preset = preset


@dataclass
class CompareConfig:
    kinds: list[str] = field(default_factory=lambda: ["proposed", "dcgan", "wgan_gp", "lsgan", "infogan"])
    classes: list[str] = field(default_factory=lambda: ["glioma", "meningioma", "pituitary"])
    n: int = 200  # images synthesized and evaluated per cell


@dataclass
class StudyConfig:
    design: str = "tables"  # tables (the paper's Tables III-VI: `study` stages) | few_labels (accuracy vs real images per class: section few_labels)
    sizes: list[int] = field(default_factory=lambda: [64])  # image sizes of the study (one prepare/fit/classify per size)
    split: str = "dedup"  # the split GANs and the real+synthetic classifiers use (shipped | dedup | grouped)
    real_splits: list[str] = field(default_factory=lambda: ["dedup"])  # splits the real-only classifier is scored on
    gan_classes: list[str] = field(default_factory=lambda: ["glioma", "meningioma", "notumor", "pituitary"])  # one GAN each ([] = all)
    n_synthetic: list[int] = field(default_factory=lambda: [460])  # synthetic images per tumour class (Table III rows)
    n_synthetic_notumor: list[int] = field(default_factory=list)  # same rows for notumor ([] = as n_synthetic); paper: 340/510/680
    evaluate: bool = True  # evaluate the synthetic sets (Table IV)
    classify: bool = True  # real vs real + synthetic classifiers (Table V)
    tstr: bool = True  # also train on synthetic only, test on real
    compare: bool = False  # run the baseline comparison (Table VI) with compare.kinds / compare.classes
    gan: str = "per_class"  # GANs of the study: per_class (one GAN per class) | conditional (one conditional GAN for every class, gan.conditional true)


@dataclass
class FewLabelsConfig:
    ns: list[int] = field(default_factory=lambda: [50, 100, 200, 400, 0])  # training images per class of each subset (0 = all); subsets are nested
    subset_seed: int = 0  # seed of the subsets' order (the same seed gives the same images)
    arms: list[str] = field(default_factory=lambda: ["real", "classic", "synthetic", "classic+synthetic"])  # classifier arms: real | classic (on-the-fly augmentation) | synthetic (real + fakes) | classic+synthetic
    seeds: int = 5  # classifier seeds per arm for a subset (paired across arms)
    seeds_all: int = 3  # classifier seeds per arm at N = all
    gan_epochs: float = 600.0  # GAN budget as passes over a class's N images (kimg = gan_epochs x N / 1000), capped at train.kimg
    ratios: list[float] = field(default_factory=lambda: [1.0])  # synthetic images per real training image of the class
    selections: list[str] = field(default_factory=lambda: ["none"])  # synth.select rules tried (one real + synthetic arm each)
    ratio_ns: list[int] = field(default_factory=lambda: [100, 0])  # the N where every ratio is tried (elsewhere only the first)
    selection_ns: list[int] = field(default_factory=lambda: [100])  # the N where every selection is tried (elsewhere only the first)
    classic_lr: float = 0.0  # learning rate of the arms with classic augmentation (0 = classifier.lr)
    classic_epochs: list[int] = field(default_factory=list)  # classifier.epochs of those arms, with either recipe ([] = classifier.epochs)
    classic_lr_schedule: str = ""  # learning-rate schedule of those arms: constant | cosine ("" = classifier.lr_schedule)
    strong_ns: list[int] = field(default_factory=lambda: [100, 0])  # the N where the strong recipe (classifier preset strong) also runs every arm
    equal_steps: bool = True  # the arms without fakes train for as many optimizer steps as those with (at the first ratio): their epochs times 1 + classifier.synthetic_share x ratio (cells marked -x<factor>); false = the same epochs, so fewer steps


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    gan: GanConfig = field(default_factory=GanConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    study: StudyConfig = field(default_factory=StudyConfig)
    few_labels: FewLabelsConfig = field(default_factory=FewLabelsConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def save(self, path: str | Path) -> None:
        from mri_gan.utils import atomic_write_text

        atomic_write_text(path, self.to_yaml())


def _apply(cfg: Config, section: str, key: str, value: Any, saved: bool = False) -> None:
    """Set `section.key` to the checked `value`. `saved`: a run's config.yaml, where a retired key
    holding the value this version behaves as is skipped."""
    sections = {f.name for f in dataclasses.fields(Config)}
    if section not in sections:
        raise MriGanError(f"unknown config section {section!r} (sections: {', '.join(sorted(sections))})")
    sec = getattr(cfg, section)
    hints = typing.get_type_hints(type(sec))
    if key not in hints:
        name = f"{section}.{key}"
        if name in RETIRED:
            if saved and RETIRED[name] in (None, value):
                return
            if saved:
                raise MriGanError(f"{name}: {value!r} is a retired option (docs/defaults.md, \"Retired options\"): "
                                  "this version cannot rebuild the run that used it")
            raise MriGanError(f"unknown config key {name}: a retired option (docs/defaults.md, \"Retired options\")")
        raise MriGanError(f"unknown config key {name} (keys: {', '.join(hints)})")
    if section == "classifier" and key == "preset":
        _apply_preset(sec, check_value(section, key, value, hints[key]))
        return
    setattr(sec, key, check_value(section, key, value, hints[key]))


def from_dict(d: dict | None, base: Config | None = None, saved: bool = False) -> Config:
    """Build a Config from a nested dict (e.g. parsed YAML); missing keys keep their defaults.
    `saved`: the dict is a run's config.yaml (see `_apply`)."""
    cfg = base if base is not None else Config()
    for section, values in (d or {}).items():
        if values is None:
            continue
        if not isinstance(values, dict):
            raise MriGanError(f"config section {section!r} must be a mapping, got {values!r}")
        # a preset first, so the keys beside it override it (and a saved config.yaml reloads as written)
        for key, value in sorted(values.items(), key=lambda kv: kv[0] != "preset"):
            _apply(cfg, section, key, value, saved)
    return cfg


def parse_override(text: str) -> tuple[str, str, Any]:
    """'section.key=value' -> (section, key, YAML-parsed value)."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise MriGanError(f"bad override {text!r}: expected section.key=value, e.g. train.epochs=5")
    lhs, rhs = text.split("=", 1)
    section, key = lhs.strip().split(".", 1)
    try:
        value = yaml.safe_load(rhs) if rhs.strip() else ""
    except yaml.YAMLError:
        value = rhs
    return section, key, value


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                sections: tuple[str, ...] | None = None) -> Config:
    """Defaults <- YAML file (if given) <- `section.key=value` overrides, in that order.

    Every value is checked as it is set (type, choices, range; `MriGanError` naming the key), then
    the GAN keys together: each key given that the chosen `gan.kind` ignores (e.g. `gan.pack`
    under dcgan) prints one warning line to stderr.
    `sections` reads only those sections of the file (the rest keep their defaults), so a reader
    that needs e.g. `data` is not stopped by a key another version wrote into `gan`.
    """
    return _load(path, overrides, sections, saved=False)


def _load(path, overrides, sections, saved: bool) -> Config:
    cfg = Config()
    given: set[str] = set()
    data = None
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise MriGanError(f"config file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise MriGanError(f"config file {p} is not valid YAML: {str(e).splitlines()[0]}") from None
        if data is not None and not isinstance(data, dict):
            raise MriGanError(f"config file {p} must hold a mapping of sections")
        if sections is not None:
            data = {k: v for k, v in (data or {}).items() if k in sections}
        try:
            from_dict(data, cfg, saved)
        except MriGanError as e:
            raise MriGanError(f"{p}: {e}") from None
        given |= {f"{section}.{k}" for section, values in (data or {}).items() if isinstance(values, dict)
                  for k in values}
    for text in overrides:
        section, key, value = parse_override(text)
        _apply(cfg, section, key, value)
        given.add(f"{section}.{key}")
    if "train.epochs" in given and "train.kimg" not in given:
        cfg.train.kimg = 0.0  # an explicit epoch count is the run length (train.kimg would replace it)
    if not saved and sections is None:
        warn_ignored(cfg, given)
    return cfg


def warn_ignored(cfg: Config, given) -> list[str]:
    """Check the GAN keys together (`mri_gan.gans.factory.ignored_keys`) and print one warning line
    to stderr for each key in `given` ('section.key' names) that the chosen kind ignores; returns
    the lines."""
    import sys

    from mri_gan.gans.factory import ignored_keys

    lines = [f"warning: {line}" for key, line in ignored_keys(cfg).items() if key in given]
    for line in lines:
        print(line, file=sys.stderr, flush=True)
    return lines


def differences(saved: Config, cfg: Config, keys, ignore=()) -> list[tuple[str, Any, Any]]:
    """(section.key, saved value, current value) wherever `saved` and `cfg` differ.

    `keys`: section names (every key of the section) and/or single `section.key` names;
    `ignore`: `section.key` names not compared. Declaration order.
    """
    out = []
    for name in keys:
        section, _, only = name.partition(".")
        a, b = getattr(saved, section), getattr(cfg, section)
        for f in dataclasses.fields(a):
            key = f"{section}.{f.name}"
            if (only and f.name != only) or key in ignore:
                continue
            if getattr(a, f.name) != getattr(b, f.name):
                out.append((key, getattr(a, f.name), getattr(b, f.name)))
    return out


def load_saved(path: str | Path, sections: tuple[str, ...] | None = None) -> Config:
    """Load a resolved `config.yaml` written into a run or prepared directory (see `load_config`):
    no warnings (it records what ran), and a retired key still holding the value this version
    behaves as is accepted (a directory written before the option went)."""
    return _load(path, (), sections, saved=True)
