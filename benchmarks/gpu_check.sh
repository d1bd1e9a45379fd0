#!/usr/bin/env bash
# The GPU check (issue 13): one prepared command for a machine with an NVIDIA GPU,
# CuPy, PyTorch with CUDA and pytest installed, and no network. From the repository root:
#
#     bash benchmarks/gpu_check.sh [OUTDIR]        # OUTDIR: default $OUT, else benchmarks/results/gpu-<date>
#     bash benchmarks/gpu_check.sh --dry-run /tmp/rehearsal   # the same steps on the CPU (= GPU_CHECK_FAKE=1)
#     GPU_CHECK_STEPS="info tests" bash benchmarks/gpu_check.sh   # some steps only (two calls, say)
#
# Steps, each under its own `timeout`, each writing OUTDIR/<step>.log:
#   info    nvidia-smi, Python, NumPy, CuPy (and its GPU), PyTorch (CUDA, cuDNN), minis2s's deps
#   tests   the whole test suite with MINIS2S_BACKEND=cupy: the `backend` fixture adds its cupy
#           cases when a GPU is usable, and every test without the fixture runs on CuPy too
#   train   the default training run (`minis2s train --backend cupy`): history.json has the
#           seconds and accuracy of every epoch it finished
#   bench   benchmarks/bench_step.py --device cuda on configs A, B, C (ratios to PyTorch-CUDA,
#           time per step, peak device memory); its JSON is rewritten after every round
# The script always exits 0: OUTDIR/status.txt holds every step's exit code (124: its timeout
# ran out) and seconds, and OUTDIR/summary.txt the lines worth reading first.
#
# GPU_CHECK_FAKE=1 is the dress rehearsal (tests/test_gpu_check.py runs it): minis2s on the
# "strict" CuPy double, torch on the CPU, tiny sizes, a few tests, `train --fast` on numpy
# (the CLI offers no strict backend). Nothing is installed from the network: minis2s is used
# from this checkout through PYTHONPATH; a missing pure-Python dependency (threadpoolctl, say)
# can come from a folder of wheels carried along: GPU_CHECK_WHEELS=DIR.
# Time limits (seconds, env): T_INFO 30, T_TESTS 200, T_TRAIN 90, T_BENCH 70 per config: 9.5
# minutes at most in all, to fit one 10-minute call of a 15-minute device lease (pytest -v, so a
# suite cut short still shows each test it ran). More: GPU_CHECK_ROUNDS (bench rounds, 2),
# GPU_CHECK_PYTEST_ARGS, GPU_CHECK_TRAIN_ARGS (e.g. "--epochs 3").
set -u
cd "$(dirname "$0")/.."
if [ "${1:-}" = --dry-run ]; then GPU_CHECK_FAKE=1; shift; fi
OUTDIR=${1:-${OUT:-benchmarks/results/gpu-$(date -u +%Y%m%d-%H%M)}}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
PY=${PYTHON:-$(command -v python3 || command -v python)}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
FAKE=${GPU_CHECK_FAKE:-0}
STEPS=${GPU_CHECK_STEPS:-info tests train bench}
if [ "$FAKE" = 1 ]; then
    BACKEND=strict; DEVICE=strict; CONFIGS="tiny"; ROUNDS=1
    PYTEST_ARGS=${GPU_CHECK_PYTEST_ARGS:-"tests/test_optim.py -k strict"}
    TRAIN_ARGS="--fast --backend numpy"
else
    BACKEND=cupy; DEVICE=cuda; CONFIGS="A B C"; ROUNDS=${GPU_CHECK_ROUNDS:-2}
    PYTEST_ARGS=${GPU_CHECK_PYTEST_ARGS:-"tests --ignore=tests/test_gpu_check.py"}
    TRAIN_ARGS="--backend cupy ${GPU_CHECK_TRAIN_ARGS:-}"
fi
export PY FAKE OUTDIR GPU_CHECK_WHEELS=${GPU_CHECK_WHEELS:-}
: > "$OUTDIR/status.txt"

wanted() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

step() {   # step NAME SECONDS COMMAND...: run it, log it, record its exit code
    local name=$1 limit=$2 start=$SECONDS rc
    shift 2
    echo "== $name (at most ${limit} s)"
    timeout --kill-after=15 "$limit" "$@" > "$OUTDIR/$name.log" 2>&1
    rc=$?
    echo "$name rc=$rc seconds=$((SECONDS - start))" | tee -a "$OUTDIR/status.txt"
}

info() {
    date -u; uname -a; echo "fake (dress rehearsal): $FAKE"; echo "repository: $PWD"
    git log -1 --oneline 2>/dev/null; git status --short 2>/dev/null | head -20
    nvidia-smi 2>&1 || echo "nvidia-smi: not available"
    if [ -n "${GPU_CHECK_WHEELS:-}" ]; then
        "$PY" -m pip install --no-index --no-deps --find-links "$GPU_CHECK_WHEELS" \
            threadpoolctl filelock tqdm 2>&1 | tail -3
    fi
    "$PY" - <<'EOF'
import importlib, platform
print("python", platform.python_version())
for name in ("numpy", "threadpoolctl", "filelock", "tqdm", "matplotlib", "pytest", "hypothesis",
             "sacrebleu", "nbclient", "cupy", "torch"):
    try:
        print(f"{name:14} {importlib.import_module(name).__version__}")
    except Exception as e:
        print(f"{name:14} MISSING ({type(e).__name__}: {e})")
try:
    import cupy
    print("cupy.is_available():", cupy.is_available())
    props = cupy.cuda.runtime.getDeviceProperties(0)
    print("cupy device 0:", props["name"].decode(), f"{props['totalGlobalMem'] / 2**30:.0f} GiB,",
          "CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
except Exception as e:
    print("cupy GPU: none usable:", type(e).__name__, e)
try:
    import torch
    print("torch.cuda.is_available():", torch.cuda.is_available(), "cudnn",
          torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None)
    if torch.cuda.is_available():
        print("torch device 0:", torch.cuda.get_device_name(0))
except Exception as e:
    print("torch:", type(e).__name__, e)
import minis2s
print("minis2s", minis2s.__version__, "from", minis2s.__file__)
print("available backends:", minis2s.available_backends())
EOF
}

train_summary() {   # the seconds and accuracy of each finished epoch, from history.json
    "$PY" - "$OUTDIR/train-run/history.json" <<'EOF'
import json, sys
try:
    history = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit(f"no history: {e}")
for r in history:
    acc = r.get("val_exact_match")
    print(f"epoch {r['epoch']}: {r['seconds']:.1f} s, {r['sentences_per_s']:.0f} sentences/s, "
          f"train loss {r['train_loss']:.4f}" + ("" if acc is None else f", exact match {acc:.2f} %"))
EOF
}

export -f info train_summary    # so that `timeout` can run them (through bash -c)
wanted info && step info "${T_INFO:-30}" bash -c info
wanted tests && step tests "${T_TESTS:-200}" env MINIS2S_BACKEND=$BACKEND \
    "$PY" -m pytest -v --tb=short -ra --durations=15 -p no:cacheprovider $PYTEST_ARGS
if wanted train; then
    rm -rf "$OUTDIR/train-run"
    step train "${T_TRAIN:-90}" "$PY" -m minis2s train $TRAIN_ARGS --no-progress \
        --out "$OUTDIR/train-run"
    step train_summary 30 bash -c train_summary
fi
BENCH=()
if wanted bench; then
    for c in $CONFIGS; do
        step "bench_$c" "${T_BENCH:-70}" "$PY" benchmarks/bench_step.py --device "$DEVICE" \
            --config "$c" --rounds "$ROUNDS" --json "$OUTDIR/bench_$c.json"
        BENCH+=("$OUTDIR/bench_$c.log")
    done
fi

{
    echo "GPU check $(date -u +%FT%TZ), fake=$FAKE; exit codes and seconds:"
    cat "$OUTDIR/status.txt"
    if wanted info; then
        echo; grep -E "^(cupy|torch|minis2s|python|numpy) |device 0|is_available|MISSING" "$OUTDIR/info.log"
    fi
    if wanted tests; then echo; echo "tests:"; grep -E "^(FAILED|ERROR)" "$OUTDIR/tests.log" | head -30; tail -n 1 "$OUTDIR/tests.log"; fi
    if wanted train; then
        echo; echo "train:"; tail -n 3 "$OUTDIR/train.log"; cat "$OUTDIR/train_summary.log"
    fi
    for f in ${BENCH[@]+"${BENCH[@]}"}; do echo; sed -n '/^Equivalence/,$p' "$f"; done
} > "$OUTDIR/summary.txt" 2>&1
echo "results in $OUTDIR (summary.txt first)"
exit 0
