#!/usr/bin/env bash
# Idempotent installer behind `make demo` / `make test`.
#   VENV=path    use (or create) this virtual environment (default: .venv at the repo root)
#   PYTHON=exe   interpreter used to create the venv (default: python3)
#   MAX_JOBS=N   parallel compile jobs for the mmcv source build (default: number of cores)
# Each step checks first and does nothing when its part is already there; a failed step names itself.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
CONSTRAINTS="$ROOT/requirements/constraints.txt"
TORCH_PIN="2.13.0+cpu"
MMCV_PIN="2.1.0"

STEP=""
fail() {
  echo "" >&2
  echo "[install] FAILED at step '$STEP': $*" >&2
  exit 1
}
trap 'rc=$?; [ $rc -ne 0 ] && [ -n "$STEP" ] && echo "[install] step \"$STEP\" exited with status $rc (see the output above)" >&2' EXIT
say() { echo "[install] $*"; }

# 1. virtual environment
STEP="venv"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment at $VENV"
  "$PYTHON" -m venv "$VENV" || fail "could not create a venv with '$PYTHON -m venv' (on Debian: apt-get install python3-venv)"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check --no-input)

# Fast path: everything was installed by this script from the same requirement files before.
STAMP="$VENV/.rsseg_ext_install"
want_stamp="$(cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" "$ROOT/tools/install.sh" | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] \
   && "$PY" -c "import importlib.util as u, mmcv.ops; assert u.find_spec('rsseg_ext')" >/dev/null 2>&1; then
  say "environment $VENV is up to date (nothing to install)"
  STEP=""
  exit 0
fi

# 2. torch: keep any torch already present (a user's CUDA build stays untouched); otherwise the CPU build.
STEP="torch"
if "$PY" -c "import torch" >/dev/null 2>&1; then
  say "torch $("$PY" -c 'import torch; print(torch.__version__)') already present: kept as it is"
else
  say "installing torch==$TORCH_PIN (CPU build; install a CUDA torch into the venv first to use GPUs)"
  "${PIP[@]}" install "torch==$TORCH_PIN" \
    || fail "pip could not install torch==$TORCH_PIN. On a GPU machine install the CUDA torch build you want into $VENV first (pip install torch --index-url ...), then re-run."
fi
TORCH_VER="$("$PY" -c 'import torch; print(torch.__version__)')"

# The verified pins, with torch pinned to whatever is installed so that nothing below can replace it.
STEP="constraints"
EFF_CONSTRAINTS="$VENV/rsseg_ext-constraints.txt"
{
  grep -v -E '^(torch|torchvision)==' "$CONSTRAINTS"
  echo "torch==$TORCH_VER"
  # torchvision 0.28.0 is the verified match for torch 2.13; for another torch 2.x the release built for it,
  # 0.(x+15).* (torchvision's compatibility table), never an unpinned one (that would pull the newest torch)
  case "$TORCH_VER" in
    2.13.0*) grep -E '^torchvision==' "$CONSTRAINTS" ;;
    2.*) minor="${TORCH_VER#2.}"; echo "torchvision==0.$(( ${minor%%.*} + 15 )).*" ;;
  esac
} > "$EFF_CONSTRAINTS"
PIPC=("${PIP[@]}" install -c "$EFF_CONSTRAINTS")

# 3. build tools for the mmcv source build (setuptools<81 keeps pkg_resources)
STEP="build-tools"
if ! "$PY" -c "import pkg_resources, ninja, wheel" >/dev/null 2>&1; then
  say "installing setuptools<81, wheel, ninja"
  "${PIPC[@]}" -r "$ROOT/requirements/build.txt" || fail "could not install setuptools/wheel/ninja"
fi

# 4. mmcv 2.1.0 with compiled ops (no cp311 wheel exists; pip's wheel cache makes re-installs instant)
STEP="mmcv"
if "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_PIN'" >/dev/null 2>&1; then
  say "mmcv $MMCV_PIN with ops already present"
else
  jobs="${MAX_JOBS:-$(nproc 2>/dev/null || echo 2)}"
  say "building mmcv==$MMCV_PIN from source with MAX_JOBS=$jobs (about 14 minutes on 2 cores when not yet in pip's wheel cache)"
  MAX_JOBS="$jobs" "${PIPC[@]}" --no-build-isolation "mmcv==$MMCV_PIN" \
    || fail "the mmcv $MMCV_PIN source build failed: it needs gcc/g++ and the Python headers (apt-get install build-essential python3-dev), and torch importable in $VENV"
  "$PY" -c "import mmcv.ops" || fail "mmcv installed but its compiled ops do not import"
fi

# 5. the rest of the stack through the pinned constraints
STEP="runtime-requirements"
"${PIPC[@]}" -q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/optional.txt" \
  || fail "pip could not install requirements/runtime.txt + optional.txt under $EFF_CONSTRAINTS"
STEP="test-requirements"
"${PIPC[@]}" -q -r "$ROOT/requirements/tests.txt" || fail "pip could not install requirements/tests.txt"

# 6. torchvision's import on a CPU-only torch (registers fake kernels for ops it does not have)
STEP="torchvision-fix"
if ! "$PY" -c "import torchvision" >/dev/null 2>&1; then
  say "import torchvision fails: applying the _has_ops() guard"
  "$PY" "$ROOT/tools/misc/fix_torchvision.py" || fail "could not patch torchvision (see tools/misc/fix_torchvision.py)"
fi

# 7. the package itself (editable, so tools/ and configs/ in this checkout are the ones used)
STEP="rsseg_ext"
"${PIP[@]}" install --no-build-isolation --no-deps -e "$ROOT" >/dev/null \
  || fail "pip install -e $ROOT failed"

STEP="check"
"$PY" -c "import torch, mmcv.ops, mmseg.models, mmpretrain, open_clip, rasterio, rsseg_ext" \
  || fail "the installed stack does not import (see the traceback above)"

echo "$want_stamp" > "$STAMP"
say "done: $("$PY" -c 'import torch, mmcv, mmseg, rsseg_ext; print(f"torch {torch.__version__}, mmcv {mmcv.__version__}, mmseg {mmseg.__version__}, rsseg_ext {rsseg_ext.__version__}")')"
STEP=""
