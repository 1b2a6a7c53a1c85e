#!/usr/bin/env bash
# The release recipe's GPU check, one script for an offline CUDA machine (carry the checkout and wheelhouse/):
#   bash scripts/make_wheelhouse.sh      # beforehand, on a machine with network (47 MB; --no-qlora: 4 MB)
#   bash scripts/gpu_check.sh            # on the GPU machine: installs offline, runs the 4-bit CUDA test and the bench
# Writes bench/results/<gpu>.json (commit it: `train.py --estimate` then uses it).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [[ -d wheelhouse ]]; then
    python -m pip install --no-index --find-links wheelhouse --no-deps $(ls wheelhouse/*.whl)
fi
python -m pytest -q -x tests/test_train.py -k qlora_4bit -p no:cacheprovider || echo "4-bit tiny QLoRA test failed"
python bench/bench_train_throughput.py --steps "${STEPS:-4}"
