"""Personal-data redaction for dialogues, run on every dialogue before it is stored.

Pure Python (no Django): `python manage.py redact` and the import both call `redact_dialogue`.

    from curation.redaction import DialogueRedactor, redact_dialogue, residual_findings

See detectors.py for what is found and by which library, redactor.py for placeholders.
"""

from .detectors import PLACEHOLDER_RE, TYPES, Span, find_spans
from .normalize import normalize
from .redactor import DialogueRedactor, looks_like_name, redact_dialogue, residual_findings

__all__ = [
    "PLACEHOLDER_RE",
    "TYPES",
    "DialogueRedactor",
    "Span",
    "find_spans",
    "looks_like_name",
    "normalize",
    "redact_dialogue",
    "residual_findings",
]
