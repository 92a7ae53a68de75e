#!/usr/bin/env bash
# Data-parallel training on Slurm: one task per rank, torchrun's env contract built from Slurm's
# variables (srun starts every task; rank 0 serves the TCP store on the first node's MASTER_PORT).
#   sbatch docs/slurm-train.sh configs/small.json anchor
#SBATCH --job-name=anchor-refine-train
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=4
#SBATCH --cpus-per-task=8
#SBATCH --time=12:00:00
set -euo pipefail
config="${1:?usage: sbatch docs/slurm-train.sh <config.json> <anchor|refine>}"
phase="${2:?phase: anchor or refine}"
MASTER_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"
MASTER_PORT="${MASTER_PORT:-29500}"
export MASTER_ADDR MASTER_PORT
export WORLD_SIZE="$SLURM_NTASKS"
# Each rank uses its own cores for the tensor kernels.
export CORE_TENSORS_THREADS="${SLURM_CPUS_PER_TASK:-1}"
cd "${SLURM_SUBMIT_DIR:-.}"
# The config's batchSize is the global batch (a multiple of WORLD_SIZE); outDir and the dataset must be
# on a filesystem every node reads (rank 0 writes the checkpoints; every rank reads the dataset).
srun --kill-on-bad-exit=1 bash -c '
  export RANK="$SLURM_PROCID" LOCAL_RANK="$SLURM_LOCALID"
  exec node --conditions=@anchor-refine/source --import tsx apps/train/src/cli.ts \
    train --config "$0" --phase "$1" --no-progress' "$config" "$phase"
