#!/usr/bin/env bash
# Check that minis2s works with the lowest versions setup.cfg claims: Python 3.9, numpy 1.22,
# matplotlib 3.5, tqdm 4.60 (threadpoolctl, filelock at their floors too), in a scratch venv.
# Runs notebooks 01 and 02 (plots included) in the fast setting and the exercise, grading,
# trainer and teacher-forcing tests. Usage: ci/lowest_versions.sh [PYTHON3.9] [VENV_DIR]
# Needs network access or a local package index holding those versions.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${1:-python3.9}"
VENV="${2:-$(mktemp -d)/venv-lowest}"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q "numpy==1.22.4" "matplotlib==3.5.3" "tqdm==4.60.0" \
    "threadpoolctl==3.1.0" "filelock==3.12.0" pytest
"$VENV/bin/pip" install -q --no-deps -e "$ROOT"
"$VENV/bin/python" -c "import sys, numpy, matplotlib; print('python', sys.version.split()[0], \
'numpy', numpy.__version__, 'matplotlib', matplotlib.__version__)"
cd "$ROOT/notebooks"
for nb in 01_lstm_cell 02_bptt_gradients; do
    MINIS2S_FAST=1 MPLBACKEND=Agg "$VENV/bin/python" "$nb.py" > /dev/null
    echo "notebook $nb: ok"
done
cd "$ROOT"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/test_exercises.py tests/test_grading.py \
    tests/test_trainer.py tests/test_teacher_forcing.py
