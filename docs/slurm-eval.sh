#!/usr/bin/env bash
# Sharded closed-loop evaluation as a Slurm job array: task i of n runs `eval --shard i/n`; then merge.
#   sbatch --array=0-7 docs/slurm-eval.sh runs/demo/refine/final runs/demo
#   (afterwards) node --conditions=@anchor-refine/source --import tsx apps/train/src/cli.ts eval --merge --run runs/demo
#SBATCH --job-name=anchor-refine-eval
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=2
#SBATCH --time=02:00:00
set -euo pipefail
checkpoint="${1:?usage: sbatch --array=0-(n-1) docs/slurm-eval.sh <checkpoint> <run dir>}"
run="${2:?run dir}"
cd "${SLURM_SUBMIT_DIR:-.}"
exec node --conditions=@anchor-refine/source --import tsx apps/train/src/cli.ts eval \
  --checkpoint "$checkpoint" --run "$run" --episodes 50 --workers "${SLURM_CPUS_PER_TASK:-2}" \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}"
