#!/usr/bin/env bash
# The GPU checks of issue 14 in one go, about 6 minutes on one H100/H200:
#   1. pytest -m gpu tests/gpu      (fresh draws per replay, batch norm, resume, graphed vs eager)
#   2. benchmarks/gpu_speed.py      (eager vs graphed step and epoch times for the five experiments)
#   3. one `cnnreport reproduce --device cuda` from empty runs, timed by the benchmark (target 120 s)
# Usage: benchmarks/gpu_check.sh TORCHINFO_WHEEL [MORE_WHEELS...]
#   The machine has no network: torchinfo (and pytest, if it lacks it) come as wheels, installed
#   with pip --no-index into a folder of their own. $PYTHON picks the interpreter (default: python3,
#   the one that holds torch on a GPU image). MNIST is read from $CNNREPORT_DATA_DIR (default:
#   ./data), torchvision layout or flat. Outputs go under $OUT when set (else ./gpu-check-out);
#   the exit status is 1 if any step failed.
set -uo pipefail
if [ $# -lt 1 ]; then
    echo "usage: benchmarks/gpu_check.sh TORCHINFO_WHEEL [MORE_WHEELS...]" >&2
    exit 2
fi
out=${OUT:-gpu-check-out}
data=${CNNREPORT_DATA_DIR:-data}
mkdir -p "$out"
python=${PYTHON:-python3}
wheels=$(mktemp -d)
"$python" -m pip install --quiet --no-index --no-deps --no-compile --target "$wheels" "$@" || exit 2
export PYTHONPATH="$PWD:$wheels${PYTHONPATH:+:$PYTHONPATH}" CNNREPORT_DATA_DIR="$data" CNNREPORT_OFFLINE=1
"$python" - <<'PY' | tee "$out/machine.txt"
import torch
print("torch", torch.__version__, "CUDA", torch.version.cuda)
print("GPU", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
PY
failed=0
if "$python" -c "import pytest" 2>/dev/null; then
    timeout 180 "$python" -m pytest -m gpu tests/gpu -q -rs -p no:cacheprovider 2>&1 | tee "$out/pytest-gpu.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
else
    echo "pytest is not installed: pass its wheel (and pluggy, iniconfig, packaging) after torchinfo's" | tee "$out/pytest-gpu.txt"
    failed=1
fi
rm -rf "$out/reproduce"
timeout 290 "$python" benchmarks/gpu_speed.py --data-dir "$data" --reproduce "$out/reproduce" \
    --json "$out/gpu_speed.json" 2>&1 | tee "$out/gpu_speed.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
rm -rf "$out/reproduce/runs"  # checkpoints and arrays: too large to bring back; the report stays
exit $failed
