"""report.md, generated from results.json alone (so it can be regenerated from any run folder).

    python evaluate.py report dacr_results/<run-id> [more run folders]

Fractions (accuracy, pass rate, CARS, compliance, ...) are shown as percentages, everything
else (ECE, Brier, cosine, ROUGE-L) with three decimals; each with its bootstrap 95% interval and n.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosstrace.results_schema import REPORT_NAME

# Metrics read as "share of items": shown in percent. Others keep their own scale.
PERCENT_METRICS = frozenset(
    {
        "accuracy",
        "pass_rate",
        "cars",
        "trap_evasion",
        "confidence_weighted_accuracy",
        "citation",
        "coverage",
        "transfer_gap",
        "structural_compliance",
        "spark_present",
        "hypothesis_present",
        "iascore",
    }
)
MAX_PROBLEMS_SHOWN = 10


def is_percent(metric: str) -> bool:
    return metric in PERCENT_METRICS or metric.endswith(("_rate", "_accuracy"))


def fmt_value(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f}%" if is_percent(metric) else f"{value:.3f}"


def fmt_interval(metric: str, pair: list[float] | None) -> str:
    if not pair:
        return ""
    low, high = pair
    return f"[{100 * low:.1f}, {100 * high:.1f}]" if is_percent(metric) else f"[{low:.3f}, {high:.3f}]"


def fmt_with_interval(metric: str, value: float | None, pair: list[float] | None) -> str:
    interval = fmt_interval(metric, pair)
    return f"{fmt_value(metric, value)} {interval}".strip()


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def metrics_table(body: dict[str, Any]) -> str:
    rows = [
        [
            name,
            fmt_value(name, value),
            fmt_interval(name, body.get("ci95", {}).get(name)),
            str(body.get("n", {}).get(name, "")),
        ]
        for name, value in body["metrics"].items()
    ]
    return table(["metric", "value", "95% CI", "n"], rows)


def breakdown_table(dimension: str, groups: dict[str, Any]) -> str:
    """One row per group value; one column per metric the groups report."""
    metric_names: list[str] = []
    for group in groups.values():
        metric_names += [m for m in group.get("metrics", {}) if m not in metric_names]
    rows = []
    for value, group in groups.items():
        cells = [
            fmt_with_interval(m, group.get("metrics", {}).get(m), group.get("ci95", {}).get(m)) for m in metric_names
        ]
        n = group.get("n", {})
        rows.append([str(value), *cells, str(max(n.values()) if isinstance(n, dict) and n else n or "")])
    return table([dimension, *metric_names, "n"], rows)


def judge_lines(body: dict[str, Any]) -> list[str]:
    """The judge's settings, its spread over repeats beside IAScore's interval, and two judges' agreement."""
    extra = body.get("extra") or {}
    judge = extra.get("judge")
    if not judge:
        return []
    lines = [
        f"Judge: `{judge.get('model')}` at {judge.get('base_url')}, temperature {judge.get('temperature')}, "
        f"seed(s) {judge.get('repeat_seeds', judge.get('seed'))}, prompt `{judge.get('prompt_version')}` "
        f"(sha256 `{str(judge.get('prompt_sha256'))[:12]}`)."
    ]
    spread = extra.get("judge_spread")
    if spread and spread.get("repeat_means_range"):
        low, high = spread["repeat_means_range"]
        interval = fmt_interval("iascore", body.get("ci95", {}).get("iascore")) or "no interval"
        sd = spread.get("repeat_means_sd")
        lines.append(
            f"Judge spread over {spread['repeats']} repeats: IAScore from each repeat alone {fmt_value('iascore', low)}"
            f" to {fmt_value('iascore', high)}"
            + (f" (sd {100 * sd:.1f} pts)" if sd is not None else "")
            + f", beside the model's 95% CI {interval}; per-pair sd {spread.get('pair_sd_mean') or 0:.3f}."
        )
    agreement = extra.get("judge_agreement")
    if agreement:
        r = agreement.get("pearson_r")
        lines.append(
            f"Agreement with the second judge `{(extra.get('second_judge') or {}).get('model')}` on {agreement['pairs']} "
            f"pair(s): mean {fmt_value('iascore', agreement['first_mean'])} vs {fmt_value('iascore', agreement['second_mean'])}, "
            f"mean |difference| {agreement['mean_abs_difference']:.3f}, within {agreement['tolerance']}: "
            f"{fmt_value('iascore', agreement['within_tolerance'])}, Pearson r {'undefined' if r is None else f'{r:.3f}'}."
        )
    return [*lines, ""]


def _skipped_lines(skipped: dict[str, Any]) -> list[str]:
    lines = []
    context = skipped.get("long_documents")
    if context:
        limit = context.get("max_context_tokens")
        where = (
            f"a context of {limit} tokens with {context.get('reserved_for_output')} kept for the answer"
            if limit
            else "no known context length (not checked)"
        )
        lines.append(
            f"- Long prompts (policy `{context.get('policy')}`, {where}, token counts {context.get('token_count')}): "
            f"{context.get('skipped_count', 0)} skipped, {context.get('truncated_count', 0)} truncated."
        )
    failed = skipped.get("failed_requests")
    if failed and failed.get("count"):
        shown = "; ".join(f"`{item['id']}`: {item['error']}" for item in failed.get("items", [])[:MAX_PROBLEMS_SHOWN])
        more = (
            f" (and {failed['count'] - MAX_PROBLEMS_SHOWN} more in results.json)"
            if failed["count"] > MAX_PROBLEMS_SHOWN
            else ""
        )
        lines.append(f"- **Failed requests (not scored; a rerun sends them again): {failed['count']}**: {shown}{more}")
    for key, value in skipped.items():
        if key not in ("long_documents", "failed_requests") and isinstance(value, dict) and "count" in value:
            lines.append(f"- {key.replace('_', ' ')}: {value['count']}")
    return lines


def _problem_text(problem: dict[str, Any]) -> str:
    if problem.get("message"):
        return str(problem["message"])
    return ", ".join(f"{k}: {v}" for k, v in problem.items() if v is not None)


def render_report(results: dict[str, Any], plots: list[Path] | None = None) -> str:
    model = results.get("model", {})
    decoding = results.get("decoding") or {}
    versions = results.get("versions", {})
    out = [f"# Evaluation: {results.get('label')} — `{results['run_id']}`", ""]
    facts = [
        ["model", str(model.get("name_or_path") or "not recorded")],
        ["adapter", str(model.get("adapter") or "none")],
        ["backend", str(model.get("backend"))],
        [
            "decoding",
            ", ".join(f"{k} {v}" for k, v in decoding.items()) or "not applicable (scored from a predictions file)",
        ],
        ["prompt hash", f"`{results.get('prompt_hash')}`" if results.get("prompt_hash") else "–"],
        ["timestamp", str(results.get("timestamp"))],
        ["git commit", str(versions.get("git_commit"))],
        ["libraries", ", ".join(f"{k} {v}" for k, v in versions.get("libraries", {}).items())],
    ]
    out += [table(["", ""], facts), ""]
    plot_names = [p.name for p in plots or []]
    for name, body in results["tasks"].items():
        out += [f"## {name}", ""]
        scoring = body.get("scoring") or {}
        out.append(
            "Scoring: "
            + ", ".join(f"{k} `{v}`" for k, v in scoring.items() if v is not None and not isinstance(v, dict))
            + "."
        )
        out += ["", metrics_table(body), ""]
        missing = body.get("missing_metrics") or {}
        for metric, reason in missing.items():
            out += [f"**Asked for but NOT MEASURED: {metric}** — {reason}.", ""]
        undefined = [m for m in body.get("undefined_metrics", []) if m not in missing]
        if undefined:
            out += [f"Undefined here (nothing to measure): {', '.join(undefined)}.", ""]
        out += judge_lines(body)
        for dimension, groups in (body.get("breakdowns") or {}).items():
            if isinstance(groups, dict) and groups:
                out += [f"### By {dimension.replace('_', ' ')}", "", breakdown_table(dimension, groups), ""]
        skipped = _skipped_lines(body.get("skipped") or {})
        problems = body.get("problems") or {}
        out += [
            "### Not scored, and problems",
            "",
            *skipped,
            f"- problems in outputs or predictions (scored as given: e.g. an unparsable answer counts as wrong): {problems.get('count', 0)}",
        ]
        out += [f"  - {_problem_text(p)}" for p in problems.get("items", [])[:MAX_PROBLEMS_SHOWN]]
        if problems.get("count", 0) > MAX_PROBLEMS_SHOWN:
            out.append(f"  - ... {problems['count'] - MAX_PROBLEMS_SHOWN} more in results.json")
        out.append("")
        generation = body.get("generation")
        if generation:
            out += [
                f"Generation: {generation['outputs']} outputs, {generation['hit_max_new_tokens']} stopped at max_new_tokens.",
                "",
            ]
        out += [f"![{p}]({p})" for p in plot_names if p.startswith(f"{name}_")] + [""]
    return "\n".join(out).rstrip() + "\n"


def write_report(run_dir: Path, results: dict[str, Any], plots: list[Path] | None = None) -> Path:
    path = run_dir / REPORT_NAME
    # backslashreplace: a lone surrogate quoted from someone's output (not encodable) is written as \ud800.
    path.write_text(render_report(results, plots), encoding="utf-8", errors="backslashreplace")
    return path


def rewrite_reports(folders: list[str]) -> list[Path]:
    """Rewrite report.md of each run folder given, from its results.json and the plots beside it
    (`python evaluate.py report <run-folder> ...`). A folder without readable results is a DataError."""
    from crosstrace.results_schema import read_results

    return [write_report(folder, read_results(folder), sorted(folder.glob("*.png"))) for folder in map(Path, folders)]
