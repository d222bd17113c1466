#!/usr/bin/env bash
# tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args]
# Environment: GPUS (4), GPUS_PER_NODE (4), CPUS_PER_TASK (5), SRUN_ARGS, PYTHON (python).
set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=${@:4}
PYTHON=${PYTHON:-$(command -v python || command -v python3)}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    --gres=gpu:${GPUS_PER_NODE} \
    --ntasks=${GPUS} \
    --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK} \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$(dirname "$0")/train.py" ${CONFIG} --launcher="slurm" ${PY_ARGS}
