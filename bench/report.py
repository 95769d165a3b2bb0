"""The benchmark's report: ratios and targets from the measured parts, written
as ``bench/REPORT.md`` (for people) and ``bench/report.json`` (for machines).

Pure Python and no timing: ``results`` is the plain dict ``bench.__main__``
fills, one entry a part, each with its figures and a sentence ``how`` saying
how they were measured (or ``skipped`` / ``error`` saying why there are none).
``compare`` derives the ratios and ``targets`` judges them, so both can be
checked on tiny made-up results in ``tests/test_bench.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import stats

ACCURACY_TARGET = 0.995
ACCURACY_EPOCHS = 6
AUGMENT_SHARE_TARGET = 0.02
FLOOR_SLOWDOWN_TARGET = 1.05
SPEEDUP_TARGET = 4.0
CACHE_HIT_TARGET_S = 1.0
PREDICT_MEDIAN_TARGET_S = 0.030


def _part(results: dict, name: str) -> dict:
    part = results.get("parts", {}).get(name) or {}
    return {} if part.get("skipped") or part.get("error") else part


def _steady(part: dict) -> float | None:
    return stats.epoch_summary(part.get("epoch_seconds") or [])["median_after_first"]


def _steady_cpu(part: dict) -> float | None:
    seconds = part.get("epoch_cpu_seconds") or []
    return stats.epoch_summary(seconds)["median_after_first"]


def _elapsed(part: dict) -> list[float]:
    """Seconds from the start of a training to each epoch's end: the measured
    wall times where the part has them, else the running sum of its epochs."""
    return part.get("elapsed") or stats.cumulative(part.get("epoch_seconds") or [])


def compare(results: dict) -> dict:
    """The comparisons, each a ratio of figures from this one run."""
    course, project = _part(results, "course"), _part(results, "project")
    floor, augment = _part(results, "floor"), _part(results, "augmentation")
    out: dict = {}

    course_epoch, project_epoch = _steady(course), _steady(project)
    out["course_epoch_s"] = course_epoch
    out["project_epoch_s"] = project_epoch
    out["floor_epoch_s"] = _steady(floor)
    out["course_over_project_epoch"] = stats.ratio(course_epoch, project_epoch)
    out["project_over_floor_epoch"] = stats.ratio(project_epoch, out["floor_epoch_s"])
    out["augmented_over_plain_interleaved"] = (floor.get("interleaved") or {}).get(
        "ratio"
    )

    # The same comparisons in CPU seconds of the training process: less
    # sensitive to other people's work on a shared machine than wall time.
    course_cpu = _steady_cpu(course)
    out["course_epoch_cpu_s"] = course_cpu
    out["project_epoch_cpu_s"] = _steady_cpu(project)
    out["floor_epoch_cpu_s"] = _steady_cpu(floor)
    out["course_over_project_epoch_cpu"] = stats.ratio(
        course_cpu, out["project_epoch_cpu_s"]
    )
    out["project_over_floor_epoch_cpu"] = stats.ratio(
        out["project_epoch_cpu_s"], out["floor_epoch_cpu_s"]
    )

    course_acc = course.get("val_accuracy") or []
    best = stats.best_epoch(course_acc)
    if best:
        course_elapsed = _elapsed(course)
        out["course_best"] = {
            "epoch": best[0],
            "val_accuracy": best[1],
            "seconds": course_elapsed[best[0] - 1],
        }
        project_acc = project.get("val_accuracy") or []
        reached = stats.time_to_reach(project_acc, _elapsed(project), best[1])
        if project_acc:
            out["project_to_course_best"] = (
                {"epoch": reached[0], "seconds": reached[1]} if reached else None
            )
            out["speedup_to_course_best"] = (
                stats.ratio(course_elapsed[best[0] - 1], reached[1])
                if reached
                else None
            )
            course_cpu_elapsed = course.get("cpu_elapsed") or []
            project_cpu_elapsed = project.get("cpu_elapsed") or []
            if reached and course_cpu_elapsed and project_cpu_elapsed:
                out["speedup_to_course_best_cpu"] = stats.ratio(
                    course_cpu_elapsed[best[0] - 1], project_cpu_elapsed[reached[0] - 1]
                )

    share_of = project_epoch or out["floor_epoch_s"]
    per_epoch = augment.get("seconds_per_epoch") or {}
    for name in ("project", "imagedatagenerator", "keras_layers"):
        if name in per_epoch:
            out[f"augment_share_{name}"] = stats.ratio(per_epoch[name], share_of)
    return out


def _verdict(name, target, measured, met, by, why, unit=""):
    return {
        "target": name,
        "wanted": target,
        "measured": measured,
        "unit": unit,
        "met": met,
        "by": by,
        "why": why,
    }


def targets(results: dict, ratios: dict) -> list[dict]:
    """Each target: met, missed (by how much, and why) or not measured."""
    project = _part(results, "project")
    out = []

    accuracy = project.get("val_accuracy") or []
    if accuracy:
        early = accuracy[:ACCURACY_EPOCHS]
        best = max(early)
        met = best >= ACCURACY_TARGET
        overall = stats.best_epoch(accuracy)
        why = (
            f"best within {len(early)} epochs: {best:.2%} at epoch "
            f"{early.index(best) + 1}; best of all {len(accuracy)} epochs: "
            f"{overall[1]:.2%} at epoch {overall[0]}"
        )
        if len(accuracy) < ACCURACY_EPOCHS:
            why += f"; the run had {len(accuracy)} epochs"
        config = project.get("config") or {}
        if config:
            why += (
                f"; trained with {config['optimizer']} {config['learning_rate']:g}, "
                f"{config['schedule']} schedule, batch {config['batch_size']}, "
                f"best epoch kept: {'yes' if config['restore_best'] else 'no'}"
            )
        out.append(
            _verdict(
                f"validation accuracy >= {ACCURACY_TARGET:.1%} within "
                f"{ACCURACY_EPOCHS} epochs",
                ACCURACY_TARGET,
                best,
                met,
                f"{(best - ACCURACY_TARGET) * 100:+.2f} points",
                why,
            )
        )
    else:
        out.append(_not_measured("validation accuracy within 6 epochs", "project"))

    share = ratios.get("augment_share_project")
    if share is not None:
        seconds = _part(results, "augmentation")["seconds_per_epoch"]["project"]
        out.append(
            _verdict(
                f"augmentation < {AUGMENT_SHARE_TARGET:.0%} of an epoch",
                AUGMENT_SHARE_TARGET,
                share,
                share < AUGMENT_SHARE_TARGET,
                f"{(share - AUGMENT_SHARE_TARGET) * 100:+.2f} points",
                f"the project's augmentation alone takes {seconds:.3f} s an epoch, "
                f"the project's epoch {ratios.get('project_epoch_s') or 0:.1f} s",
            )
        )
    else:
        out.append(_not_measured("augmentation share of an epoch", "augmentation"))

    slowdown = ratios.get("augmented_over_plain_interleaved")
    separate = ratios.get("project_over_floor_epoch")
    if slowdown is not None:
        interleaved = _part(results, "floor")["interleaved"]
        why = (
            "median over interleaved block pairs (batches with and without "
            "augmentation on one model)"
        )
        low, high = (
            interleaved.get("paired_ratio_p25"),
            interleaved.get("paired_ratio_p75"),
        )
        if low is not None and high is not None:
            why += f", quartiles {low:.2f}x..{high:.2f}x"
            if high - low > FLOOR_SLOWDOWN_TARGET - 1:
                why += (
                    " (a spread wider than the 5% margin: the load of the shared "
                    "machine, not augmentation, sets it, so this shows no measurable "
                    "slowdown rather than one proven under 5%)"
                )
        if separate is not None:
            why += (
                f"; separate trainings: epoch {ratios['project_epoch_s']:.1f} s with "
                f"augmentation, {ratios['floor_epoch_s']:.1f} s without "
                f"({separate:.2f}x, medians after the first epoch)"
            )
    elif separate is not None:
        slowdown = separate
        why = (
            f"epoch with augmentation {ratios['project_epoch_s']:.1f} s, "
            f"without {ratios['floor_epoch_s']:.1f} s (medians after the first epoch)"
        )
    if slowdown is not None:
        if share is not None:
            why += f"; augmentation measured alone is {share:.1%} of an epoch"
        out.append(
            _verdict(
                f"epoch at most {FLOOR_SLOWDOWN_TARGET - 1:.0%} slower than "
                "the no-augmentation floor",
                FLOOR_SLOWDOWN_TARGET,
                slowdown,
                slowdown <= FLOOR_SLOWDOWN_TARGET,
                f"{(slowdown - 1) * 100:+.1f}% vs the floor",
                why,
                "x",
            )
        )
    else:
        out.append(_not_measured("epoch vs no-augmentation floor", "project or floor"))

    out.append(_speedup_verdict(results, ratios))

    cache = _part(results, "cache_hit").get("median_s")
    if cache is not None:
        out.append(
            _verdict(
                f"cache hit < {CACHE_HIT_TARGET_S:g} s",
                CACHE_HIT_TARGET_S,
                cache,
                cache < CACHE_HIT_TARGET_S,
                f"{cache - CACHE_HIT_TARGET_S:+.3f} s",
                _part(results, "cache_hit").get("how", ""),
                "s",
            )
        )
    else:
        out.append(_not_measured("cache hit", "cache_hit"))

    predict = _part(results, "prediction").get("median_s")
    if predict is not None:
        out.append(
            _verdict(
                f"prediction median < {PREDICT_MEDIAN_TARGET_S * 1000:g} ms",
                PREDICT_MEDIAN_TARGET_S,
                predict,
                predict < PREDICT_MEDIAN_TARGET_S,
                f"{(predict - PREDICT_MEDIAN_TARGET_S) * 1000:+.1f} ms",
                _part(results, "prediction").get("how", ""),
                "s",
            )
        )
    else:
        out.append(_not_measured("prediction median", "prediction"))
    return out


def _speedup_verdict(results: dict, ratios: dict) -> dict:
    name = f"time to the course's best >= {SPEEDUP_TARGET:g}x shorter"
    best = ratios.get("course_best")
    if not best or "project_to_course_best" not in ratios:
        return _not_measured(name, "course or project")
    reached = ratios["project_to_course_best"]
    if reached is None:
        return _verdict(
            name,
            SPEEDUP_TARGET,
            None,
            False,
            "not reached",
            f"the project never reached the course's best "
            f"{best['val_accuracy']:.2%} in the epochs it ran",
            "x",
        )
    speedup = ratios["speedup_to_course_best"]
    epoch_ratio = ratios.get("course_over_project_epoch") or 0
    why = (
        f"course: {best['val_accuracy']:.2%} at epoch {best['epoch']} after "
        f"{best['seconds']:.0f} s; project: reached it at epoch {reached['epoch']} "
        f"after {reached['seconds']:.0f} s; an epoch is {epoch_ratio:.2f}x faster "
        f"and {best['epoch']} vs {reached['epoch']} epochs were needed"
    )
    cpu = ratios.get("speedup_to_course_best_cpu")
    if cpu is not None:
        why += f"; counted in CPU seconds of the training process: {cpu:.2f}x"
    augment = _part(results, "augmentation").get("seconds_per_epoch") or {}
    generator = augment.get("imagedatagenerator")
    course_epoch, floor_epoch = (
        ratios.get("course_epoch_s"),
        ratios.get("floor_epoch_s"),
    )
    if generator and course_epoch and floor_epoch and speedup < SPEEDUP_TARGET:
        cap = course_epoch / floor_epoch
        why += (
            f". The course's epoch is {course_epoch:.0f} s, the project's "
            f"no-augmentation floor {floor_epoch:.0f} s at the same batch size, so "
            "no input pipeline, however fast, makes an epoch more than "
            f"{cap:.2f}x faster than the course's (ImageDataGenerator measured alone "
            f"is {generator:.0f} s of the course's epoch); the rest has to come from "
            f"needing {SPEEDUP_TARGET / cap:.1f}x fewer epochs, or from cheaper "
            "epochs (e.g. a larger batch)"
        )
    return _verdict(
        name,
        SPEEDUP_TARGET,
        speedup,
        speedup >= SPEEDUP_TARGET,
        f"{speedup - SPEEDUP_TARGET:+.2f}x",
        why,
        "x",
    )


def _not_measured(name: str, part: str) -> dict:
    return _verdict(
        name, None, None, None, "", f"not measured: part {part} has no result"
    )


# --- writing ---------------------------------------------------------------


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if unit == "%":
            return f"{value:.2%}"
        if unit == "x":
            return f"{value:.2f}x"
        if unit == "ms":
            return f"{value * 1000:.1f} ms"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return _cell(str(value))


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _status(met) -> str:
    return {True: "met", False: "MISSED", None: "not measured"}[met]


def render_markdown(results: dict) -> str:
    """The whole report as markdown: headline targets, then every part."""
    ratios, verdicts = results["ratios"], results["targets"]
    lines = [
        "# Benchmark report",
        "",
        f"Generated {results['generated']} by `{results['command']}`.",
        "",
        "## Machine and run",
        "",
    ]
    for key, value in results["machine"].items():
        lines.append(f"- {key}: {value}")
    lines.append(f"- options: `{json.dumps(results['options'], sort_keys=True)}`")
    if results.get("reduced"):
        lines += ["", "Reduced compared with the full benchmark:"]
        lines += [f"- {item}" for item in results["reduced"]]

    lines += [
        "",
        "Every figure is a median of repeats and every comparison a ratio of "
        "figures from this one run; the machine is shared (see the load averages), "
        "so read the ratios rather than the seconds. Rerun: `python -m bench` "
        "(`--help` for the options, `--quick` for a smoke run).",
    ]
    probe = _part(results, "probe")
    if probe.get("notes"):
        lines += ["", "## The course's code on Keras 3, unchanged", ""]
        lines += [f"- {_cell(note)}" for note in probe["notes"]]
    gpu = results.get("parts", {}).get("gpu") or {}
    if gpu.get("skipped"):
        lines += ["", f"GPU part not run: {gpu['skipped']}."]

    lines += ["", "## Targets", "", "| target | measured | status | by | why |"]
    lines.append("| --- | --- | --- | --- | --- |")
    for v in verdicts:
        unit = v["unit"]
        if unit == "s" and v["measured"] is not None and v["measured"] < 0.1:
            unit = "ms"
        measured = _fmt(v["measured"], "%" if unit == "" else unit)
        lines.append(
            f"| {v['target']} | {measured} | {_status(v['met'])} | {v['by']} "
            f"| {_cell(v['why'])} |"
        )

    lines += [
        "",
        "## Headline ratios (same run)",
        "",
        "| ratio | value |",
        "| --- | --- |",
    ]
    for key in (
        "course_over_project_epoch",
        "project_over_floor_epoch",
        "augmented_over_plain_interleaved",
        "speedup_to_course_best",
        "course_over_project_epoch_cpu",
        "project_over_floor_epoch_cpu",
        "speedup_to_course_best_cpu",
    ):
        lines.append(f"| {key} | {_fmt(ratios.get(key), 'x')} |")
    for key, value in ratios.items():
        if key.startswith("augment_share_"):
            lines.append(f"| {key} (of a project epoch) | {_fmt(value, '%')} |")

    for name, part in results["parts"].items():
        lines += ["", f"## {name.replace('_', ' ').capitalize()}", ""]
        if part.get("skipped"):
            lines.append(f"Not run: {part['skipped']}")
            continue
        if part.get("error"):
            lines.append(f"Failed: `{' '.join(str(part['error']).split())}`")
        if part.get("how"):
            lines += [f"How: {part['how']}", ""]
        lines += _part_table(part)
        for note in part.get("notes", []):
            lines.append(f"- {note}")
    lines.append("")
    return "\n".join(lines)


def _part_table(part: dict) -> list[str]:
    lines = []
    seconds = part.get("epoch_seconds") or []
    if seconds:
        lines += [
            "| epoch | seconds | CPU s | elapsed s | val accuracy | batches |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        blank = [None] * len(seconds)
        columns = zip(
            seconds,
            part.get("epoch_cpu_seconds") or blank,
            _elapsed(part),
            part.get("val_accuracy") or blank,
            part.get("batches_per_epoch") or blank,
        )
        for i, (sec, cpu, elapsed, acc, batches) in enumerate(columns):
            lines.append(
                f"| {i + 1} | {sec:.1f} | {_fmt(cpu)} | {elapsed:.1f} "
                f"| {_fmt(acc, '%')} | {_fmt(batches)} |"
            )
        lines.append("")
    scalars = {
        k: v
        for k, v in part.items()
        if k not in ("how", "notes", "skipped", "error")
        and not isinstance(v, (list, dict))
    }
    if scalars:
        lines += ["| figure | value |", "| --- | --- |"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in scalars.items()]
        lines.append("")
    for key, value in part.items():
        if isinstance(value, dict) and value:
            lines += [f"{key}:", "", "| name | value |", "| --- | --- |"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in value.items()]
            lines.append("")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            keys = list(dict.fromkeys(k for row in value for k in row))
            lines += [f"{key}:", "", "| " + " | ".join(keys) + " |"]
            lines.append("|" + " --- |" * len(keys))
            for row in value:
                lines.append("| " + " | ".join(_fmt(row.get(k)) for k in keys) + " |")
            lines.append("")
    return lines


def finish(results: dict) -> dict:
    """Add the ratios and the target verdicts to ``results``."""
    results["ratios"] = compare(results)
    results["targets"] = targets(results, results["ratios"])
    return results


def write(results: dict, folder: Path) -> tuple[Path, Path]:
    """Write ``REPORT.md`` and ``report.json`` into ``folder``; returns both paths."""
    results = finish(results)
    folder.mkdir(parents=True, exist_ok=True)
    md_path, json_path = folder / "REPORT.md", folder / "report.json"
    md_path.write_text(render_markdown(results))
    json_path.write_text(
        json.dumps(results, indent=2, sort_keys=False, default=str) + "\n"
    )
    return md_path, json_path
