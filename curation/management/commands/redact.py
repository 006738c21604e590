"""Redact personal data from standard input to standard output, one line in, one line out, with
exactly the redaction that imports use (curation.redaction):

    python manage.py redact < notes.txt > notes.redacted.txt
    python manage.py redact --jsonl < dialogues.jsonl > dialogues.redacted.jsonl

Plain mode: each line is one text (placeholders are numbered per line). --jsonl: each line is
a dialogue in the import schema ({"id", "scene", "source", "roles", "turns", "metadata"}),
redacted as an import redacts it, its id included (placeholders consistent within the
dialogue; an import also appends a keyed hash to a redacted id to keep ids unique). UTF-8 both
ways; every line is flushed as soon as it is written, so the command can sit in a pipe.

A line that is not a JSON object (--jsonl) gives an empty output line, a message on standard
error naming its line number (never its text), and a non-zero exit status once all lines are
done. With -v 2 the counts of what was redacted, by type, go to standard error at the end.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from curation.redaction import DialogueRedactor, redact_dialogue


def _utf8(stream: TextIO, **kwargs: Any) -> TextIO:
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(encoding="utf-8", **kwargs)
    return stream


class Command(BaseCommand):
    help = (
        "Redact personal data (phones, ID and card numbers, e-mails, WeChat/QQ ids, passwords, "
        "codes, accounts, addresses, names) from standard input, one line in, one line out."
    )
    requires_system_checks = []
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument(
            "--jsonl",
            action="store_true",
            help="each line is a dialogue in the import schema (JSON), redacted like an import",
        )

    def handle(self, *args, **options):
        stdin = options.get("stdin") or _utf8(sys.stdin, errors="replace")
        if options.get("stdout") is None:
            _utf8(sys.stdout)
        totals: Counter[str] = Counter()
        failed = 0
        for number, line in enumerate(iter(stdin.readline, ""), start=1):
            line = line.rstrip("\n").rstrip("\r")
            if options["jsonl"]:
                output, counts, problem = self._dialogue(line)
                if problem:
                    failed += 1
                    self.stderr.write(f"line {number}: {problem}")
            else:
                redactor = DialogueRedactor()
                output, counts = redactor.redact(line), redactor.counts
            totals.update(counts)
            self.stdout.write(output)
            self.stdout.flush()
        if options["verbosity"] >= 2:
            summary = ", ".join(f"{kind} {count}" for kind, count in sorted(totals.items()))
            self.stderr.write(f"redacted: {summary or 'nothing'}")
        if failed:
            raise CommandError(f"{failed} line(s) could not be read as dialogues (see above).")

    @staticmethod
    def _dialogue(line: str) -> tuple[str, Counter[str], str]:
        """(output line, counts, problem): the problem names what is wrong, never the text."""
        if not line.strip():
            return "", Counter(), ""
        try:
            dialogue = json.loads(line)
        except json.JSONDecodeError as error:
            return "", Counter(), f"not valid JSON ({error.msg} at column {error.colno})"
        if not isinstance(dialogue, dict):
            return "", Counter(), f"a dialogue must be a JSON object, not {type(dialogue).__name__}"
        if not isinstance(dialogue.get("turns", []), list):
            return "", Counter(), '"turns" must be a list of turns'
        try:
            # As an import redacts it: the id too (an id may hold a phone number or a name).
            redacted, counts = redact_dialogue(dialogue, redact_id=True)
        except Exception as error:  # a shape redact_dialogue does not expect: name the kind only
            return "", Counter(), f"could not be redacted ({type(error).__name__})"
        return json.dumps(redacted, ensure_ascii=False), counts, ""
