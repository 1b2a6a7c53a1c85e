#!/usr/bin/env bash
# Download the wheels an offline CUDA machine needs for train.py (list: scripts/wheelhouse.txt) into ./wheelhouse/.
#
#   bash scripts/make_wheelhouse.sh               # on a machine with network: cp312 manylinux wheels, no sdists
#   bash scripts/make_wheelhouse.sh --no-qlora    # without bitsandbytes (43 MB): bf16 LoRA only
#   # on the GPU machine (carry wheelhouse/ with the checkout):
#   pip install --no-index --find-links wheelhouse --no-deps -r scripts/wheelhouse.txt
#
# --no-deps on both sides: the list is explicit, so nothing the GPU machine already has (torch,
# transformers, CUDA libraries) is downloaded or replaced. Python version and platform are
# settings ($PYTHON_VERSION, $PLATFORM) for GPU machines other than the Python 3.12 one.
set -euo pipefail
cd "$(dirname "$0")/.."
list=scripts/wheelhouse.txt
if [[ "${1:-}" == "--no-qlora" ]]; then
    list=$(mktemp)
    grep -v '^bitsandbytes==' scripts/wheelhouse.txt > "$list"
fi
mkdir -p wheelhouse
python -m pip download --dest wheelhouse --only-binary=:all: --no-deps \
    --python-version "${PYTHON_VERSION:-3.12}" --implementation cp \
    --platform "${PLATFORM:-manylinux_2_28_x86_64}" --platform manylinux_2_24_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform any -r "$list"
du -sh wheelhouse
