#!/usr/bin/env bash
# The offline demo, end to end on a CPU: build CrossTrace from the public release, train the
# SmolLM2-135M-Instruct LoRA of recipes/demo.yaml on it, then evaluate the base model and the
# adapter on the CrossTrace test split with evaluate.py and compare them.
#
#   pip install -r requirements.txt && pip install --no-deps -r requirements-demo.txt
#   bash scripts/demo.sh                 # extra arguments go to train.py, e.g. --max_steps 4
#
# Reads the release from $CROSSTRACE_SHARED_DATA (default ../shared/data). Interrupted? Run it
# again: the build is skipped when done, and training resumes from its last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

SHARED="${CROSSTRACE_SHARED_DATA:-../shared/data}"
if [ ! -f build/crosstrace/manifest.json ]; then
  if [ ! -d "$SHARED/crosstrace" ]; then
    echo "error: the CrossTrace release is not at $SHARED/crosstrace; set CROSSTRACE_SHARED_DATA to a copy of it" >&2
    exit 2
  fi
  python -m crosstrace.build crosstrace --source "$SHARED/crosstrace" --out build/crosstrace
fi

python train.py --config recipes/demo.yaml "$@"
echo "The adapter is in outputs/demo (run_metadata.json and train_results.json beside it)."

# Generation on 2 CPU cores runs at about 16 answers per 6 minutes, so by default the demo
# evaluates the first 32 of the 107 test records; DEMO_EVAL_SAMPLES=107 evaluates them all.
EVAL=(--model builtin:smollm2-135m-instruct --tasks crosstrace --crosstrace_data build/crosstrace
      --crosstrace_configs all --max_new_tokens 512 --batch_size 16 --max_samples "${DEMO_EVAL_SAMPLES:-32}")
python evaluate.py "${EVAL[@]}" --label "SmolLM2-135M-Instruct baseline (CPU demo)" --run_id demo-smollm2-135m-baseline
python evaluate.py "${EVAL[@]}" --adapter outputs/demo --label "SmolLM2-135M-Instruct + CrossTrace LoRA (CPU demo)" --run_id demo-smollm2-135m-lora
python evaluate.py compare dacr_results/demo-smollm2-135m-baseline dacr_results/demo-smollm2-135m-lora
