#!/usr/bin/env bash
# Train one class at 256 px on a lent GPU machine (JAX, no TensorFlow, no network) for a
# wall-clock budget, measuring quality while it trains. The one command to run there, from the
# repository root, with the bundle of make_bundle.py carried (device tool: carry
# ["benchmarks/gpu/bundle"]):
#
#     bash benchmarks/gpu/run_256.sh
#
# Environment (all optional):
#   SIZE      image size (default 256; the bundle's images are resized if they differ)
#   BUDGET_S  wall-clock budget of this script, seconds (default 420); training stops by time
#   CLASS     class to train (default glioma; the bundle carries it whole)
#   OUT       where the results go (default $OUT of the device tool, else ./gpu-out)
#   BUNDLE    the bundle folder (default benchmarks/gpu/bundle)
#   WORK      scratch folder for the prepared dir and the run (default a new folder in /tmp)
#   PYTHON    interpreter (default python3: the device's, which holds JAX and PyTorch)
#   EVAL_S    seconds of training between quality measurements (default: the time left / 6)
#   OVERRIDES config overrides, space-separated section.key=value (e.g. train.precision=mixed_bfloat16)
# Writes under $OUT: metrics.jsonl, history.jsonl, config.yaml, samples.png, result.json, log.txt.
set -euo pipefail
START=$(date +%s.%N)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
cd "$REPO"
SIZE="${SIZE:-256}"
BUDGET_S="${BUDGET_S:-420}"
CLASS="${CLASS:-glioma}"
OUT="${OUT:-$REPO/gpu-out}"
BUNDLE="${BUNDLE:-$HERE/bundle}"
WORK="${WORK:-$(mktemp -d /tmp/mrigan-gpu.XXXXXX)}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$OUT" "$WORK"
exec > >(tee -a "$OUT/log.txt") 2>&1

echo "run_256.sh: SIZE=$SIZE BUDGET_S=$BUDGET_S CLASS=$CLASS OUT=$OUT BUNDLE=$BUNDLE WORK=$WORK"
[ -f "$BUNDLE/data/bundle.json" ] || { echo "no bundle at $BUNDLE: run make_bundle.py here and carry it"; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

# Keras and the requirements the device lacks, from the carried wheels (no network). Without
# wheels in the bundle (make_bundle.py --no-wheels), the interpreter's own Keras runs.
SITE="$WORK/site"
if compgen -G "$BUNDLE/wheels/*.whl" >/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
    --target "$SITE" --find-links "$BUNDLE/wheels" keras namex
  # optree is compiled: the carried wheel for this Python, unless the interpreter has one already
  "$PYTHON" -c "import optree" 2>/dev/null || "$PYTHON" -m pip install -q --no-index --no-deps --no-compile \
    --no-cache-dir --disable-pip-version-check --target "$SITE" --find-links "$BUNDLE/wheels" optree
  export PYTHONPATH="$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}"
else
  echo "no wheels in $BUNDLE/wheels: using the interpreter's Keras"
  export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND=jax MRIGAN_PROGRESS=0 TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1

# Everything the training imports, checked before the clock runs out on a missing package.
"$PYTHON" - <<'EOF'
import importlib, sys
need = ["keras", "jax", "numpy", "cv2", "yaml", "h5py", "optree", "namex", "rich", "ml_dtypes", "absl", "scipy", "PIL", "click"]
missing = []
for m in need:
    try:
        importlib.import_module(m)
    except Exception as e:  # noqa: BLE001
        missing.append(f"{m} ({type(e).__name__}: {e})")
if missing:
    sys.exit("missing Python packages: " + "; ".join(missing))
import keras, jax
print(f"python {sys.version.split()[0]}, keras {keras.__version__} ({keras.backend.backend()}), jax {jax.__version__}: {jax.devices()}")
EOF

ARGS=()
for o in ${OVERRIDES:-}; do ARGS+=(-s "$o"); done
[ -n "${EVAL_S:-}" ] && ARGS+=(--eval-s "$EVAL_S")
"$PYTHON" "$HERE/train_budget.py" --bundle "$BUNDLE" --out "$OUT" --work "$WORK" --size "$SIZE" \
  --budget-s "$BUDGET_S" --start "$START" --class "$CLASS" "${ARGS[@]}"
echo "run_256.sh: done in $(( $(date +%s) - ${START%.*} )) s; files in $OUT:"
ls -l "$OUT"
