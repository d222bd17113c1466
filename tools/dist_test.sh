#!/usr/bin/env bash
# tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]
# One process per GPU with torchrun (nccl). Without CUDA the same command runs GPUS gloo processes on the CPU.
# Environment: NNODES, NODE_RANK, PORT (29500), MASTER_ADDR (127.0.0.1), PYTHON (python).
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-$(command -v python || command -v python3)}

if [ -z "$CONFIG" ] || [ -z "$CHECKPOINT" ] || [ -z "$GPUS" ]; then
  echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py args]" >&2
  exit 2
fi

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    "$(dirname "$0")/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch \
    "${@:4}"
