"""When an evolved instruction fails, in the WizardLM manner. No Django here.

An evolution is eliminated, with the reason, when the child adds no information over its parent,
copies the rewriting prompt's own wording, is too short or too long, or the model refused.
"""

from __future__ import annotations

import re

from evolution.similarity import rouge_l, tokens

MIN_TOKENS = 8
MAX_GROWTH = 3.0  # times the parent's length
SAME_INFORMATION = 0.9  # ROUGE-L with the parent above this: nothing new

_REFUSAL = re.compile(
    r"^\W*(sorry|i'?m sorry|i cannot|i can'?t|as an ai|抱歉|对不起|很抱歉|我无法|我不能|无法完成)",
    re.IGNORECASE,
)
# Words that belong to our rewriting prompts, not to an instruction.
_PROMPT_WORDING = (
    "原指令",
    "改写后的指令",
    "只输出",
    "rewritten instruction",
    "output only",
    "given prompt",
    "rewritten prompt",
    "#instruction#",
)


def elimination_reason(parent: str, child: str) -> str:
    """Empty when the child is acceptable, else why it is eliminated."""
    text = child.strip()
    if not text or _REFUSAL.search(text):
        return "the model refused"
    lowered = text.lower()
    if any(word in lowered for word in _PROMPT_WORDING):
        return "copies the rewriting prompt's wording"
    child_tokens, parent_tokens = tokens(text), tokens(parent)
    if len(child_tokens) < MIN_TOKENS:
        return "too short"
    if parent_tokens and len(child_tokens) > MAX_GROWTH * len(parent_tokens):
        return "too long"
    if rouge_l(parent, text) > SAME_INFORMATION and len(child_tokens) <= len(parent_tokens) + 2:
        return "no new information over its parent"
    return ""
