"""Fine-tuning formats, written as a stream of text chunks in constant memory (no Django).

Every format carries one and the same training sample, (system, user, assistant):

- system: the project's training system prompt as the version froze it (`VersionItem.system`).
  When it is empty there is no system message and no system field at all.
- user: the training prompt (`VersionItem.training_prompt`): the whole prompt (background, role,
  dialogue presentation, task narrative, output format, guidelines) with the whole dialogue in
  the place of `{dialogue}`, and no internal marker. Items frozen before that column existed
  have it empty; theirs is derived from the input the labelling model read by removing the
  `<untrusted_dialogue>` wrapper that `curation.llm.client.untrusted` put around the dialogue
  (`training_prompt_of`).
- assistant: the label (`VersionItem.output`).

The formats:

- OpenAI chat JSONL: one {"messages": [system?, user, assistant]} per line.
- ShareGPT JSON: [{"conversations": [{"from": "human"}, {"from": "gpt"}], "system"?}].
- Alpaca JSON: [{"instruction": <the whole training prompt>, "input": "", "output", "system"?}].
  The whole prompt goes into `instruction` and `input` stays empty. Trainers (LLaMA-Factory's
  alpaca converter, Stanford Alpaca's template and most others) join instruction and input with
  "\\n" and drop an empty input, so the model reads exactly the user text of the other formats.
  The dialogue is not moved into `input`: our prompts place the dialogue between their
  presentation ("以下是经纪人与客户的对话：") and their task narrative, output format and
  guidelines, so cutting it out would reorder the prompt (instruction first, dialogue last),
  and the model would be trained on a text no other format, and no user, gives it.
- LLaMA-Factory: a ShareGPT file of its own name (`{name}.llamafactory.json`) and the
  `dataset_info.json` entry that names that file, with its columns and tags.

No text in any format holds an internal marker: whatever looks like an `<untrusted_dialogue>`
delimiter (any case, any spacing, opening or closing, full-width brackets, or the bracketed
form `untrusted` makes of a quoted one; e.g. quoted by a hostile dialogue or echoed by the
labelling model) is removed from every field as it is written (`clean`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

FORMATS = ("openai", "sharegpt", "alpaca", "llamafactory")
FILE_NAMES = {
    "openai": "{name}.jsonl",
    "sharegpt": "{name}.sharegpt.json",
    "alpaca": "{name}.alpaca.json",
    "llamafactory": "{name}.llamafactory.json",
}
CONTENT_TYPES = {
    "openai": "application/jsonl",
    "sharegpt": "application/json",
    "alpaca": "application/json",
    "llamafactory": "application/json",
}

# The wrapper curation.llm.client.untrusted puts around a dialogue (kept here so this module
# stays free of the LLM client; tests/metrics/test_export.py checks the two agree). `untrusted`
# lets no closing tag inside (it escapes or brackets a quoted one), so the first closing tag
# after an opening one ends the dialogue.
_WRAPPED = re.compile(r"<untrusted_dialogue>\n(.*?)\n</untrusted_dialogue>", re.DOTALL)
# Anything a reader could take for one of our delimiters: any case and spacing, opening or
# closing, with attributes, in ASCII, full-width or small angle brackets, and the square-
# bracketed form `untrusted` turns a quoted one into.
_MARKER = re.compile(
    r"[<\uFF1C\uFE64\[]\s*/?\s*untrusted[\s_-]*dialogue\b[^<>\uFF1C\uFF1E\uFE64\uFE65\[\]\n]{0,80}"
    r"[>\uFF1E\uFE65\]]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Example:
    system: str  # empty: no system message
    prompt: str  # the training prompt: the whole prompt with the whole dialogue in place
    output: str


def unwrap_dialogue(rendered_input: str) -> str:
    """The input the labelling model read, without the `<untrusted_dialogue>` wrapper that
    `curation.llm.client.untrusted` put around its dialogue(s). What `untrusted` did to a
    delimiter quoted inside the dialogue stays; `clean` removes it on export."""
    return _WRAPPED.sub(lambda m: m.group(1), rendered_input)


def training_prompt_of(training_prompt: str, rendered_input: str) -> str:
    """The item's training prompt; for an item frozen before it was kept, derived from the
    input the labelling model read."""
    return training_prompt if training_prompt else unwrap_dialogue(rendered_input)


def clean(text: str) -> str:
    """`text` without anything shaped like an internal marker. Repeated until nothing changes:
    removing `<untrusted_dialogue>` from `<untrusted<untrusted_dialogue>_dialogue>` makes one."""
    while True:
        cleaned = _MARKER.sub("", text)
        if cleaned == text:
            return text
        text = cleaned


def _clean(e: Example) -> Example:
    return Example(clean(e.system), clean(e.prompt), clean(e.output))


def _dump(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def openai_lines(examples: Iterable[Example]) -> Iterator[str]:
    for e in map(_clean, examples):
        messages = [{"role": "system", "content": e.system}] if e.system else []
        messages += [
            {"role": "user", "content": e.prompt},
            {"role": "assistant", "content": e.output},
        ]
        yield _dump({"messages": messages}) + "\n"


def _json_array(objects: Iterable[dict]) -> Iterator[str]:
    """A JSON array, one element at a time."""
    yield "["
    first = True
    for obj in objects:
        yield ("\n" if first else ",\n") + _dump(obj)
        first = False
    yield "\n]\n"


def _sharegpt_row(e: Example) -> dict:
    row: dict = {
        "conversations": [
            {"from": "human", "value": e.prompt},
            {"from": "gpt", "value": e.output},
        ]
    }
    if e.system:
        row["system"] = e.system
    return row


def sharegpt(examples: Iterable[Example]) -> Iterator[str]:
    return _json_array(_sharegpt_row(e) for e in map(_clean, examples))


def _alpaca_row(e: Example) -> dict:
    # The whole prompt is the instruction; see the module docstring for why input stays empty.
    row = {"instruction": e.prompt, "input": "", "output": e.output}
    if e.system:
        row["system"] = e.system
    return row


def alpaca(examples: Iterable[Example]) -> Iterator[str]:
    return _json_array(_alpaca_row(e) for e in map(_clean, examples))


def stream(fmt: str, examples: Iterable[Example]) -> Iterator[str]:
    if fmt == "openai":
        return openai_lines(examples)
    if fmt in ("sharegpt", "llamafactory"):
        return sharegpt(examples)
    if fmt == "alpaca":
        return alpaca(examples)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def llamafactory_entry(dataset: str, file_name: str, *, system: bool = True) -> dict:
    """The dataset_info.json entry with which LLaMA-Factory reads the ShareGPT file `file_name`.

    `system`: whether the file's rows carry a system field. The column is only named when they
    do: LLaMA-Factory reads a named column from every row, and a file whose rows have none
    has no such column at all (loading it would fail)."""
    columns = {"messages": "conversations"}
    if system:
        columns["system"] = "system"
    return {
        dataset: {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": columns,
            "tags": {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
            },
        }
    }
