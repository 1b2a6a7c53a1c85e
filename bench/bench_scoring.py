"""DACR scoring: speed, the gaming audit, and the gold-answer check, both modes side by side.

    python bench/bench_scoring.py                      # uses ../shared/data/dacr-bench (mini)
    python bench/bench_scoring.py --benchmark <file> --answers 100000 --bootstrap 1000

What it measures and how:
1. Gold answers submitted as predictions: accuracy under `strict` and `reference` (must be 100%).
2. Gaming audit: degenerate answer strategies applied to every question of the benchmark;
   accuracy and CARS under both modes (strict must stay <= 5% for each):
   - "e" everywhere;
   - every number of the document, as one comma-separated answer;
   - the question itself, echoed;
   - the first number after the question's main entity (its longest capitalised phrase or
     acronym found in the document, else its longest word found there).
3. Speed: `score_dacr` on N question-answers (default 100,000), built by replicating the
   benchmark's challenges under new ids and drawing an answer for every question from a seeded
   mix (gold, alias, perturbed numbers, other questions' golds, document snippets, padded
   sentences, "e", empty) with citations and confidences. CPU time (time.process_time: this
   process, all its threads) and wall time of the full call per mode: reading the predictions,
   matching, citations, per-sample rows, aggregation, breakdowns and 1,000 bootstrap resamples
   over the challenges. Within one call the same answer to the same question is judged once,
   and the same citation of the same document is read once (the counts of distinct pairs are
   printed: that is the work done); nothing is carried from one timed call to the next but
   the benchmark's own preparation (gold parsing, document indexes), cached by content and
   timed separately in 1. (cold), and a small memo of unit words (`lookup_unit`). The
   machine's load average is printed beside the times: on a shared machine CPU time grows
   with the load too (cores and caches are shared), so compare runs at similar loads.
4. Against another checkout (`--baseline-path DIR`, e.g. the parent commit's worktree): the
   speed test of 3. runs in fresh processes, alternately with DIR's package and this one's
   (old, new, old, new, ... `--repeats` times each, so both see the same load), and prints the
   median CPU seconds of each and their ratio; each process also scores the runs of 1. and 2.,
   and the `to_dict()` of every run must be byte-identical between the two packages.

    python bench/bench_scoring.py --baseline-path /work/main --repeats 3
    python bench/bench_scoring.py --dump runs.json      # every run's to_dict(), both modes
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent
MODES = ("strict", "reference")
MAX_SLOWDOWN = 1.5  # the new package may take at most this much CPU time of the baseline's

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"\b(?:[A-Z][\w\-]*[A-Z0-9][\w\-]*|[A-Z][a-z][\w\-]*)(?:\s+(?:[A-Z][\w\-]*|of|and|the))*")
_QUESTION_WORDS = {
    "What",
    "Which",
    "How",
    "When",
    "Where",
    "Who",
    "Why",
    "According",
    "Among",
    "Of",
    "In",
    "Find",
    "Is",
    "Does",
    "The",
    "A",
}


def load_challenges(path: Path) -> list[dict]:
    try:
        from crosstrace.sources.dacr_bench import load_benchmark
    except ImportError:  # the reader is optional for this script: fall back to the raw file
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, list) else data["challenges"]
    return load_benchmark(path).challenges


def predictions_from(challenges: list[dict], answer_for) -> dict:
    return {
        c["challengeId"]: {
            q["questionId"]: {"answer": answer_for(c, q), "citation": "", "confidence": 0.5} for q in c["questions"]
        }
        for c in challenges
    }


def main_entity(question: str, document: str) -> str | None:
    phrases = [p.strip() for p in _CAPITALISED.findall(question) if p.strip() not in _QUESTION_WORDS]
    for phrase in sorted(phrases, key=len, reverse=True):
        if phrase in document:
            return phrase
    words = sorted(
        set(re.findall(r"[A-Za-z][\w\-]{4,}", question)), key=lambda w: (-len(w), w)
    )  # ties broken by spelling: reproducible
    return next((w for w in words if w in document), None)


def first_number_after_entity(challenge: dict, question: dict) -> str:
    document = challenge["document"]["text"]
    entity = main_entity(question["text"], document)
    if entity is None:
        return ""
    match = _NUMBER.search(document, document.index(entity) + len(entity))
    return match.group() if match else ""


STRATEGIES = {
    'answer "e" everywhere': lambda c, q: "e",
    "every number of the document": lambda c, q: ", ".join(_NUMBER.findall(c["document"]["text"])),
    "echo the question": lambda c, q: q["text"],
    "first number after the main entity": first_number_after_entity,
}


def _perturbed_number(text: str, rng: random.Random) -> str:
    match = re.search(r"\d+(?:\.\d+)?", text)
    if not match:
        return text + " " + rng.choice(["increase", "decrease", "none"])
    value = float(match.group()) * (1 + rng.uniform(-0.3, 0.3))
    decimals = rng.choice([0, 1, 2, 3])
    return text[: match.start()] + f"{value:.{decimals}f}" + text[match.end() :]


def synthetic_answers(challenges: list[dict], n_answers: int, seed: int) -> tuple[list[dict], dict]:
    """Replicate the challenges under new ids until n_answers questions, one drawn answer each."""
    rng = random.Random(seed)
    copies, predictions, total = [], {}, 0
    replica = 0
    while total < n_answers:
        for challenge in challenges:
            if total >= n_answers:
                break
            copy = dict(challenge, challengeId=f"{challenge['challengeId']}#r{replica}")
            copies.append(copy)
            text = challenge["document"]["text"]
            doc_words = text.split()
            golds = [q["goldAnswer"] for q in challenge["questions"]]
            answers = {}
            for question in challenge["questions"]:
                gold = question["goldAnswer"]
                aliases = question.get("goldAnswerAliases") or [gold]
                kind = rng.choices(range(9), weights=[15, 10, 10, 20, 5, 10, 10, 15, 5])[0]
                start = rng.randrange(max(1, len(doc_words) - 10))
                snippet = " ".join(doc_words[start : start + rng.randint(3, 10)])
                answer = [
                    gold,
                    rng.choice(aliases),
                    f"The {gold}.",
                    _perturbed_number(gold, rng),
                    "e",
                    rng.choice(golds),
                    f"According to paragraph {rng.randint(0, 50)}, the answer is {gold} ({rng.randint(1, 999)})",
                    snippet,
                    "",
                ][kind]
                citation = rng.choice(["", f"paragraph {rng.randint(0, 60)}", snippet, "Abstract"])
                confidence = rng.choice([None, round(rng.random(), 2), 1.0])
                answers[question["questionId"]] = {"answer": answer, "citation": citation, "confidence": confidence}
                total += 1
            predictions[copy["challengeId"]] = answers
        replica += 1
    return copies, predictions


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"


def percent(value: float | None) -> str:
    return "   n/a" if value is None else f"{100 * value:5.1f}%"


def import_scoring(package_path: Path | None):
    """`crosstrace.scoring.dacr` from the checkout at `package_path` (default: this one). Called
    once per process, before anything imports crosstrace: the first import decides which
    package the process uses."""
    sys.path.insert(0, str(Path(package_path or _CHECKOUT).resolve()))
    from crosstrace.scoring import dacr

    return dacr


def time_speed_call(dacr, challenges, copies, predictions, mode: str, bootstrap: int, seed: int):
    """(score, CPU s, system s, wall s) of one `score_dacr` call on the speed test's answers."""
    dacr.score_dacr(challenges, {}, mode=mode, bootstrap=0)  # prepare the benchmark once (timed in 1.)
    started_cpu, started_system, started_wall = time.process_time(), os.times().system, time.perf_counter()
    score = dacr.score_dacr(copies, predictions, mode=mode, bootstrap=bootstrap, seed=seed)
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started_wall
    return score, cpu, os.times().system - started_system, wall


def scored_runs(dacr, args) -> int:
    """Score every run of this bench with `dacr` (the package at `--package-path`): the speed test (timed)
    and the gold and gaming-audit runs, both modes. Prints one JSON line: CPU, system and wall
    seconds of the speed calls, and the SHA-256 of each run's `to_dict()` (JSON, sorted keys);
    with `--dump FILE`, also writes {run: to_dict()} to FILE."""
    challenges = load_challenges(args.benchmark)
    copies, predictions = synthetic_answers(challenges, args.answers, args.seed)
    result: dict = {"package": dacr.__file__, "cpu": {}, "system": {}, "wall": {}}
    digests, dumped = {}, {}

    def record(run: str, score) -> None:
        as_dict = score.to_dict()
        digests[run] = hashlib.sha256(json.dumps(as_dict, sort_keys=True).encode()).hexdigest()
        if args.dump:
            dumped[run] = as_dict

    for mode in MODES:
        score, result["cpu"][mode], result["system"][mode], result["wall"][mode] = time_speed_call(
            dacr, challenges, copies, predictions, mode, args.bootstrap, args.seed
        )
        record(f"speed {args.answers} answers/{mode}", score)
        score = None  # free this mode's rows before the next mode's clock starts
    for name, answer_for in {"gold answers": lambda c, q: q["goldAnswer"], **STRATEGIES}.items():
        strategy_predictions = predictions_from(challenges, answer_for)
        for mode in MODES:
            record(f"{name}/{mode}", dacr.score_dacr(challenges, strategy_predictions, mode=mode, bootstrap=0))
    result["digests"] = digests
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            json.dump(dumped, out, sort_keys=True)
    print(json.dumps(result))
    return 0


def _scored_runs_in_subprocess(package_path: Path, args) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--runs-only", "--package-path", str(package_path)]
    command += ["--benchmark", str(args.benchmark), "--answers", str(args.answers)]
    command += ["--bootstrap", str(args.bootstrap), "--seed", str(args.seed)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scoring with {package_path} failed (exit {done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare_with_baseline(args) -> bool:
    """Section 4: the speed test alternately with the baseline package and this one, each in a
    fresh process; True when every run's `to_dict()` is identical and the median CPU time is
    within MAX_SLOWDOWN of the baseline's."""
    sides = {"old": Path(args.baseline_path).resolve(), "new": _CHECKOUT}
    print(f"4. Against the baseline: {args.answers:,} question-answers, bootstrap {args.bootstrap}")
    for side, path in sides.items():
        print(f"   {side}: {path}")
    print(f"   load average before: {_load()} on {os.cpu_count()} CPUs")
    print(f"   {'run':<9} {'strict cpu s':>12} {'reference cpu s':>16} {'both':>7}")
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for repeat in range(args.repeats):
        for side, path in sides.items():  # interleaved: old, new, old, new, ...
            run = _scored_runs_in_subprocess(path, args)
            runs[side].append(run)
            cpu = run["cpu"]
            print(
                f"   {side} #{repeat + 1:<3} {cpu['strict']:12.2f} {cpu['reference']:16.2f} {sum(cpu.values()):7.2f}",
                flush=True,
            )
    medians = {
        side: {mode: statistics.median(r["cpu"][mode] for r in done) for mode in MODES}
        | {"both": statistics.median(sum(r["cpu"].values()) for r in done)}
        for side, done in runs.items()
    }
    for side in sides:
        m = medians[side]
        print(f"   {side} median {m['strict']:9.2f} {m['reference']:16.2f} {m['both']:7.2f}")
    ratios = {key: medians["new"][key] / medians["old"][key] for key in (*MODES, "both")}
    fast_enough = ratios["both"] <= MAX_SLOWDOWN
    print(
        f"   new / old {ratios['strict']:10.2f} {ratios['reference']:16.2f} {ratios['both']:7.2f}"
        f"   target <= {MAX_SLOWDOWN}: {'met' if fast_enough else 'NOT met'}"
    )
    reference_digests = runs["old"][0]["digests"]
    differing = sorted(
        {
            name
            for r in runs["old"] + runs["new"]
            for name, d in r["digests"].items()
            if reference_digests.get(name) != d
        }
    )
    identical = not differing and all(r["digests"].keys() == reference_digests.keys() for r in runs["new"])
    print(
        f"   to_dict() of the {len(reference_digests)} runs (gold, audit, speed; both modes): "
        + ("byte-identical, old and new" if identical else f"DIFFERENT: {', '.join(differing) or 'run names'}")
    )
    print(f"   load average after: {_load()}")
    return identical and fast_enough


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--benchmark", type=Path, default=None, help="DACR-Bench JSON file (default: the shared mini file)."
    )
    parser.add_argument("--answers", type=int, default=100_000, help="Question-answers to score in the speed test.")
    parser.add_argument("--bootstrap", type=int, default=1000, help="Bootstrap resamples in the speed test.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--baseline-path",
        type=Path,
        default=None,
        help="Checkout to compare with (section 4), e.g. the parent commit's worktree.",
    )
    parser.add_argument("--repeats", type=int, default=3, help="Runs of each package in section 4 (median reported).")
    parser.add_argument(
        "--dump",
        type=Path,
        default=None,
        help="Write {run: to_dict()} of every run (gold, audit, speed; both modes) to this JSON file, print timings "
        "and digests as one JSON line, and skip the report.",
    )
    parser.add_argument(
        "--package-path", type=Path, default=None, help="With --dump: score with the package of this checkout."
    )
    parser.add_argument("--runs-only", action="store_true", help=argparse.SUPPRESS)  # section 4's subprocesses
    args = parser.parse_args(argv)
    dacr = import_scoring(args.package_path)
    if args.benchmark is None:
        from crosstrace import paths

        args.benchmark = paths.dacr_bench_mini_file()
    if args.benchmark is None or not Path(args.benchmark).is_file():
        print(
            "No benchmark file: pass --benchmark, or set CROSSTRACE_SHARED_DATA to a copy of the public releases.",
            file=sys.stderr,
        )
        return 2
    if args.runs_only or args.dump:
        return scored_runs(dacr, args)
    return report(dacr, args)


def report(dacr, args) -> int:
    challenges = load_challenges(Path(args.benchmark))
    n_questions = sum(len(c["questions"]) for c in challenges)
    print(f"benchmark: {args.benchmark} ({len(challenges)} challenges, {n_questions} questions)\n")

    # Cold gold preparation (first strict call on this benchmark).
    dacr.clear_caches()
    gold_predictions = predictions_from(challenges, lambda c, q: q["goldAnswer"])
    started = time.perf_counter()
    strict_gold = dacr.score_dacr(challenges, gold_predictions, mode="strict", bootstrap=0)
    cold = time.perf_counter() - started
    reference_gold = dacr.score_dacr(challenges, gold_predictions, mode="reference", bootstrap=0)
    print("1. Gold answers as predictions")
    print(
        f"   strict {percent(strict_gold.metrics['accuracy'])}   reference {percent(reference_gold.metrics['accuracy'])}"
    )
    print(
        f"   (first strict call, cold caches: {cold:.2f} s for {n_questions} questions: gold forms, document indexes)\n"
    )

    print("2. Gaming audit: accuracy (CARS) of degenerate strategies")
    print(f"   {'strategy':<38} {'strict':>16} {'reference':>18}   strict <= 5%")
    audit_ok = True
    for name, strategy in STRATEGIES.items():
        predictions = predictions_from(challenges, strategy)
        strict = dacr.score_dacr(challenges, predictions, mode="strict", bootstrap=0).metrics
        ref = dacr.score_dacr(challenges, predictions, mode="reference", bootstrap=0).metrics
        ok = strict["accuracy"] <= 0.05
        audit_ok &= ok
        print(
            f"   {name:<38} {percent(strict['accuracy'])} ({percent(strict['cars'])})  {percent(ref['accuracy'])} ({percent(ref['cars'])})   {'yes' if ok else 'NO'}"
        )
    print()
    gold_ok = strict_gold.metrics["accuracy"] == 1.0 and reference_gold.metrics["accuracy"] == 1.0
    if args.baseline_path is not None:  # the speed test runs in section 4's processes instead
        return 0 if gold_ok and audit_ok and compare_with_baseline(args) else 1

    copies, predictions = synthetic_answers(challenges, args.answers, args.seed)
    print(f"3. Speed: {args.answers:,} question-answers ({len(copies):,} challenges), bootstrap {args.bootstrap}")
    entries = [(c.split("#")[0], qid, e) for c, answers in predictions.items() for qid, e in answers.items()]
    distinct = len({(c, qid, e["answer"]) for c, qid, e in entries})
    cited = len({(c, qid, e["citation"]) for c, qid, e in entries})
    read = len({(c, e["citation"]) for c, qid, e in entries})
    print(f"   ({distinct:,} distinct question-answer pairs, each judged once per call;")
    print(
        f"    {cited:,} distinct question-citation pairs, scored once; {read:,} distinct document-citation pairs, read at most once)"
    )
    print(f"   load average before: {_load()} on {os.cpu_count()} CPUs")
    print(f"   {'mode':<9} {'cpu s':>7} {'(sys)':>7} {'wall s':>7}")
    cpu, system, wall = {}, {}, {}
    for mode in MODES:
        score = None  # free the previous mode's rows before the clock starts, not inside its time
        score, cpu[mode], system[mode], wall[mode] = time_speed_call(
            dacr, challenges, copies, predictions, mode, args.bootstrap, args.seed
        )
        print(
            f"   {mode:<9} {cpu[mode]:7.2f} {system[mode]:7.2f} {wall[mode]:7.2f}   accuracy {percent(score.metrics['accuracy'])}  ci95 {[round(100 * x, 1) for x in score.ci95.get('accuracy', [])]}"
        )
    total_cpu, total_wall = sum(cpu.values()), sum(wall.values())
    verdict = "met" if total_cpu <= 2.0 else "NOT met"
    print(
        f"   both      {total_cpu:7.2f} {sum(system.values()):7.2f} {total_wall:7.2f}   target <= 2 s of CPU time: {verdict}"
    )
    print(
        "   (CPU time is this process's own, user + sys (sys: mostly first-touch memory, the first large call pays it);"
    )
    print("    wall time also counts waiting for a core on a shared machine)")
    print(f"   load average after: {_load()}")
    return 0 if gold_ok and audit_ok and total_cpu <= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
