"""Prints recall and precision per type of the redaction over tests/data/redaction_corpus.jsonl
(the figures in the README), and with -v the misses and false positives:

    .venv/bin/python tests/data/redaction_eval.py [-v] [--set dev|holdout] [corpus.jsonl]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from curation.redaction.evaluation import evaluate_file  # noqa: E402


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    part = None
    if "--set" in argv:
        part = argv[argv.index("--set") + 1]
        argv = [a for a in argv if a not in ("--set", part)]
    paths = [a for a in argv if a != "-v"]
    path = Path(paths[0]) if paths else Path(__file__).with_name("redaction_corpus.jsonl")
    report = evaluate_file(path, part)
    print(report.table())
    if verbose:
        for line, type_, value in report.misses:
            print(f"miss  line {line}: {type_} {value!r}")
        for line, type_, value in report.false_positives:
            print(f"false line {line}: {type_} {value!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
