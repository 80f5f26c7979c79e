#!/usr/bin/env bash
# Start the CPU vLLM server for the tiny llama in the FOREGROUND (exec, so this PID is vLLM's
# API server). Run scripts/setup_vllm_cpu.sh first.
#
#   bash scripts/serve_vllm_cpu.sh PORT [extra vllm serve args...]
#
# Ready when GET http://127.0.0.1:PORT/v1/models answers (about 50 s on 2 cores). vLLM forks an
# EngineCore and a worker process: to stop it from a harness, start this with `setsid` and send
# SIGTERM to the whole process group (kill -TERM -- -PGID).
#
# Env: TOKENERGY_VLLM_VENV, TOKENERGY_VLLM_MODEL_DIR (as in setup_vllm_cpu.sh),
#      TOKENERGY_VLLM_HOST (default 127.0.0.1), VLLM_CPU_KVCACHE_SPACE (GiB, default 1 here).
set -euo pipefail

if [[ $# -lt 1 || ! "$1" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 PORT [extra vllm serve args...]" >&2
  exit 2
fi
PORT="$1"; shift
VENV="${TOKENERGY_VLLM_VENV:-/work/.vllm-venv}"
MODEL_DIR="${TOKENERGY_VLLM_MODEL_DIR:-/work/.vllm-tiny-llama}"
HOST="${TOKENERGY_VLLM_HOST:-127.0.0.1}"

if [[ ! -x "$VENV/bin/vllm" || ! -f "$MODEL_DIR/config.json" ]]; then
  echo "vLLM venv ($VENV) or model ($MODEL_DIR) missing: run scripts/setup_vllm_cpu.sh" >&2
  exit 1
fi

# Without an explicit KV cache size the CPU worker reserves --gpu-memory-utilization (0.92) of
# NUMA node 0 and refuses to start when that much is not free ("Available memory on node 0
# ... is less than desired CPU memory utilization"). A fixed 1 GiB skips that check and is
# plenty for a 4-layer model at 4096 context.
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1    # never try a model hub (no network here)
export VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1

exec "$VENV/bin/vllm" serve "$MODEL_DIR" --max-model-len 4096 --host "$HOST" --port "$PORT" "$@"
