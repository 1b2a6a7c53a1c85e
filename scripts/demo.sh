#!/usr/bin/env bash
# The offline demo, end to end on a CPU: build CrossTrace from the public release, train the
# SmolLM2-135M-Instruct LoRA of recipes/demo.yaml on it, then evaluate the base model and the
# adapter on the CrossTrace test split with evaluate.py and compare them.
#
#   pip install -r requirements.txt && pip install --no-deps -r requirements-demo.txt
#   bash scripts/demo.sh                 # extra arguments go to train.py, e.g. --max_steps 4
#
# Reads the release from $CROSSTRACE_SHARED_DATA (default ../shared/data). Without it the demo
# runs on the project's own data instead: the CrossTrace-format fixture records under
# tests/fixtures plus ten-option questions over engine documents (recipes/demo-fixtures.yaml),
# evaluated on the fixtures' test split and the engine questions' test split.
# Interrupted? Run it again: builds are skipped when done, training resumes from its last
# checkpoint and evaluation skips every finished prompt.
#
# Environment: DEMO_EVAL_SAMPLES (prompts per task, default 32), DEMO_MAX_NEW_TOKENS (default 512).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

SHARED="${CROSSTRACE_SHARED_DATA:-../shared/data}"
if [ -d "$SHARED/crosstrace" ]; then
  RECIPE=recipes/demo.yaml ADAPTER=outputs/demo RUN=demo-smollm2-135m
  CROSSTRACE=build/crosstrace
  [ -f "$CROSSTRACE/manifest.json" ] || python -m crosstrace.builders crosstrace --source "$SHARED/crosstrace" --out "$CROSSTRACE"
  TASKS=(--tasks crosstrace)
else
  echo "note: no CrossTrace release at $SHARED/crosstrace (set CROSSTRACE_SHARED_DATA to use it);" \
       "the demo runs on the project's fixture records and engine questions" >&2
  RECIPE=recipes/demo-fixtures.yaml ADAPTER=outputs/demo-fixtures RUN=demo-fixtures-smollm2-135m
  CROSSTRACE=build/crosstrace-fixtures MCQ=build/mcq-fixtures
  [ -f "$CROSSTRACE/manifest.json" ] || python -m crosstrace.builders crosstrace --source tests/fixtures/crosstrace/release --out "$CROSSTRACE"
  [ -f "$MCQ/manifest.json" ] || python -m crosstrace.builders mcq --crosstrace "$CROSSTRACE" --engine-n 40 --out "$MCQ"
  TASKS=(--tasks crosstrace,mcq --mcq_data "$MCQ" --mcq_config engine_facts)
fi

python train.py --config "$RECIPE" "$@"
echo "The adapter is in $ADAPTER (run_metadata.json and train_results.json beside it)."

# Generation on 2 CPU cores runs at about 16 answers per 6 minutes, so by default the demo
# evaluates the first 32 prompts of each task; DEMO_EVAL_SAMPLES=107 evaluates all CrossTrace test records.
EVAL=(--model builtin:smollm2-135m-instruct "${TASKS[@]}" --crosstrace_data "$CROSSTRACE" --crosstrace_configs all
      --max_new_tokens "${DEMO_MAX_NEW_TOKENS:-512}" --batch_size 16 --max_samples "${DEMO_EVAL_SAMPLES:-32}")
python evaluate.py "${EVAL[@]}" --label "SmolLM2-135M-Instruct baseline (CPU demo)" --run_id "$RUN-baseline"
python evaluate.py "${EVAL[@]}" --adapter "$ADAPTER" --label "SmolLM2-135M-Instruct + CrossTrace LoRA (CPU demo)" --run_id "$RUN-lora"
python evaluate.py compare "dacr_results/$RUN-baseline" "dacr_results/$RUN-lora"
