"""Redaction throughput per core, beside the pipeline it replaced, on the same texts.

    python bench/redaction.py [--quick]

Redacts the 300 CrossWOZ dialogues (../shared/corpora/crosswoz/crosswoz_test_300.jsonl, read in
place: real turns with hotel phone numbers, names of sights and restaurants) and 1,000 synthetic
2 KB dialogues with planted personal data (bench/import.py's generator; --quick: 60 CrossWOZ
and 200 synthetic) with `redact_dialogue`, single-process, timed in CPU seconds of this process
(per core, whatever else runs on the machine), alternately with:

* the new pipeline: curation/redaction as it is in the work tree;
* the baseline: curation/redaction as it was before issue 19 (jieba's Python segmenter and
  jieba.posseg for the runs it could not tag, the detectors as they were), read from git at
  BASELINE_COMMIT into a temporary package; the same jieba dictionary.

Each pipeline starts every round with empty caches; the best of three rounds counts (one with
--quick). Both must give the same redacted dialogues (checked on every dialogue), and recall
and precision on tests/data/redaction_corpus.jsonl are printed for both. No database, no
Django, no network. Last line:

    redaction chars_per_s=<n> baseline_chars_per_s=<n> speedup=<x> recall=<r> precision=<p>

(characters of the turn texts per CPU second; recall and precision of the new pipeline).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The last commit with the redaction of before issue 19 (curation/redaction unchanged since
# f272176, which introduced it).
BASELINE_COMMIT = "786d6911229da9bd9163b83180bedbd081031823"
BASELINE_PACKAGE = "redaction_baseline"
CROSSWOZ = ROOT.parent / "shared" / "corpora" / "crosswoz" / "crosswoz_test_300.jsonl"
CORPUS = ROOT / "tests" / "data" / "redaction_corpus.jsonl"


def load_baseline(directory: Path) -> ModuleType:
    """curation/redaction at BASELINE_COMMIT, importable as `redaction_baseline`."""
    package = directory / BASELINE_PACKAGE
    package.mkdir()
    try:
        listing = subprocess.run(
            ["git", "-C", str(ROOT), "ls-tree", "--name-only", BASELINE_COMMIT,
             "curation/redaction/"],
            check=True, capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        for path in listing:
            if path.endswith(".py"):
                source = subprocess.run(
                    ["git", "-C", str(ROOT), "show", f"{BASELINE_COMMIT}:{path}"],
                    check=True, capture_output=True, text=True,
                ).stdout  # fmt: skip
                (package / Path(path).name).write_text(source, encoding="utf-8")
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(
            f"the baseline is read from git ({BASELINE_COMMIT[:10]}): run from a clone with its "
            f"history ({error})"
        ) from error
    sys.path.insert(0, str(directory))
    return importlib.import_module(BASELINE_PACKAGE)


def synthetic(count: int) -> list[dict[str, Any]]:
    """bench/import.py's 2 KB real-estate dialogues with planted personal data."""
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "bench" / "import.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_dialogues(count)


def crosswoz(count: int) -> list[dict[str, Any]]:
    if not CROSSWOZ.exists():
        print(f"# {CROSSWOZ} is missing: synthetic dialogues only")
        return []
    with open(CROSSWOZ, encoding="utf-8") as lines:
        return [json.loads(line) for line, _ in zip(lines, range(count), strict=False)]


def characters(dialogues: list[dict[str, Any]]) -> int:
    return sum(len(turn["text"]) for dialogue in dialogues for turn in dialogue["turns"])


def clear(package: ModuleType) -> None:
    """Empty the caches a pipeline fills as it goes (each round starts cold)."""
    detectors, segmenter = package.detectors, package.segmenter
    if hasattr(detectors, "clear_caches"):
        detectors.clear_caches()
    else:  # the baseline's
        segmenter._posseg_run.cache_clear()
        segmenter.tag.cache_clear()


def cpu_seconds(package: ModuleType, dialogues: list[dict[str, Any]]) -> float:
    clear(package)
    started = time.process_time()
    for dialogue in dialogues:
        package.redact_dialogue(dialogue)
    return time.process_time() - started


def corpus_line(name: str, package: ModuleType) -> Any:
    report = package.evaluation.evaluate_file(CORPUS)
    overall, names = report.overall, report.scores["NAME"]
    print(
        f"# {name} corpus: recall={overall.recall:.4f} precision={overall.precision:.4f} "
        f"({overall.found}/{overall.planted} found, {overall.right}/{overall.detected} right); "
        f"NAME recall={names.recall:.4f} precision={names.precision:.4f} "
        f"({names.found}/{names.planted}, {names.right}/{names.detected})"
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer dialogues, one round")
    args = parser.parse_args()
    rounds = 1 if args.quick else 3

    import curation.redaction as new

    with tempfile.TemporaryDirectory() as directory:
        baseline = load_baseline(Path(directory))
        importlib.import_module(f"{BASELINE_PACKAGE}.evaluation")
        importlib.import_module("curation.redaction.evaluation")
        baseline.segmenter.load()
        new.segmenter.load()

        real = crosswoz(60 if args.quick else 300)
        planted = synthetic(200 if args.quick else 1000)
        dialogues = real + planted
        total = characters(dialogues)
        print(
            f"# {len(real)} CrossWOZ dialogues ({characters(real)} characters) and "
            f"{len(planted)} synthetic ({characters(planted)}); load average "
            f"{os.getloadavg()[0]:.2f}"
        )

        different = sum(
            baseline.redact_dialogue(dialogue) != new.redact_dialogue(dialogue)
            for dialogue in dialogues
        )
        print(f"# redacted dialogues that differ from the baseline's: {different}")

        best: dict[str, float] = {}
        parts: dict[str, dict[str, float]] = {"baseline": {}, "new": {}}
        for _ in range(rounds):
            for name, package in (("baseline", baseline), ("new", new)):
                seconds = cpu_seconds(package, dialogues)
                best[name] = min(best.get(name, seconds), seconds)
                for part, subset in (("CrossWOZ", real), ("synthetic", planted)):
                    if subset:
                        rate = characters(subset) / cpu_seconds(package, subset)
                        parts[name][part] = max(parts[name].get(part, 0.0), rate)
        for part in ("CrossWOZ", "synthetic"):
            if part in parts["new"]:
                before, after = parts["baseline"][part], parts["new"][part]
                print(
                    f"# {part} alone: baseline {before:,.0f} chars/s, new {after:,.0f} chars/s "
                    f"({after / before:.2f}x)"
                )

        corpus_line("baseline", baseline)
        report = corpus_line("new", new)
        rate, baseline_rate = total / best["new"], total / best["baseline"]
        print(f"# load average {os.getloadavg()[0]:.2f}")
        print(
            f"redaction chars_per_s={rate:.0f} baseline_chars_per_s={baseline_rate:.0f} "
            f"speedup={rate / baseline_rate:.2f} recall={report.overall.recall:.4f} "
            f"precision={report.overall.precision:.4f}"
        )


if __name__ == "__main__":
    main()
