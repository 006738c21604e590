"""Fine-tuning formats, written as a stream of text chunks in constant memory (no Django):
OpenAI chat JSONL, ShareGPT JSON, Alpaca JSON, and the LLaMA-Factory dataset_info.json entry
that points at a ShareGPT file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

FORMATS = ("openai", "sharegpt", "alpaca", "llamafactory")
FILE_NAMES = {
    "openai": "{name}.jsonl",
    "sharegpt": "{name}.sharegpt.json",
    "alpaca": "{name}.alpaca.json",
    "llamafactory": "{name}.sharegpt.json",
}


@dataclass(frozen=True)
class Example:
    prompt: str  # the instruction
    dialogue: str
    rendered_input: str  # the instruction with the dialogue, as the model read it
    output: str


def _dump(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def openai_lines(examples: Iterable[Example]) -> Iterator[str]:
    for e in examples:
        yield (
            _dump(
                {
                    "messages": [
                        {"role": "user", "content": e.rendered_input},
                        {"role": "assistant", "content": e.output},
                    ]
                }
            )
            + "\n"
        )


def _json_array(objects: Iterable[dict]) -> Iterator[str]:
    """A JSON array, one element at a time."""
    yield "["
    first = True
    for obj in objects:
        yield ("\n" if first else ",\n") + _dump(obj)
        first = False
    yield "\n]\n"


def sharegpt(examples: Iterable[Example]) -> Iterator[str]:
    return _json_array(
        {
            "conversations": [
                {"from": "human", "value": e.rendered_input},
                {"from": "gpt", "value": e.output},
            ]
        }
        for e in examples
    )


def alpaca(examples: Iterable[Example]) -> Iterator[str]:
    return _json_array(
        {"instruction": e.prompt, "input": e.dialogue, "output": e.output} for e in examples
    )


def stream(fmt: str, examples: Iterable[Example]) -> Iterator[str]:
    if fmt == "openai":
        return openai_lines(examples)
    if fmt in ("sharegpt", "llamafactory"):
        return sharegpt(examples)
    if fmt == "alpaca":
        return alpaca(examples)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def llamafactory_entry(dataset: str, file_name: str) -> dict:
    """The dataset_info.json entry LLaMA-Factory reads for a ShareGPT file."""
    return {
        dataset: {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
            "tags": {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
            },
        }
    }
