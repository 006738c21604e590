"""Assembling prompts from template parts (paper §2.2): pure Python, no Django.

A prompt is drawn with its own random generator seeded by (job seed, index), so the same seed
and the same parts give the same prompts, whatever order workers take them in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from evolution import placeholders

SCENE, ROLE, DIALOGUE, TASK, OUTPUT, GUIDELINES = (
    "scene_background",
    "role",
    "dialogue",
    "task",
    "output_format",
    "guidelines",
)
REQUIRED_KINDS = (DIALOGUE, TASK, OUTPUT)

WORDS = {
    "zh": {
        "example": "示例：",
        "task": "任务{n}：",
        "several": "请依次完成以下{n}个任务，每个任务分别给出一个输出，并标明任务序号。",
    },
    "en": {
        "example": "Example:",
        "task": "Task {n}: ",
        "several": "Complete the following {n} tasks in order, giving one output for each, "
        "labelled with its task number.",
    },
}


@dataclass(frozen=True)
class Part:
    id: int
    kind: str
    text: str
    revision: int = 1
    scene: int | None = None
    role: int | None = None
    task_type: int | None = None
    instruction: int | None = None
    output_format: str = ""
    example: str = ""


@dataclass
class Composition:
    scene: int | None
    role: int | None
    language: str
    tasks: list[tuple[Part, Part]]  # (task narrative, its output format)
    used: list[Part] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return join_sections(self.sections)


class AssemblyError(ValueError):
    """The parts cannot make a prompt (a required kind has no compatible part)."""


def join_sections(sections: dict[str, str]) -> str:
    order = ("background", "role", "dialogue", "narrative")
    return "\n\n".join(sections[k].strip() for k in order if sections.get(k, "").strip())


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def fits(part: Part, *, scene: int | None, role: int | None, task_types: set[int]) -> bool:
    """A part without a scene, role or task type goes with any; with one, only with that."""
    return (
        (part.scene is None or part.scene == scene)
        and (part.role is None or role is None or part.role == role)
        and (part.task_type is None or part.task_type in task_types)
    )


def output_block(part: Part, language: str) -> str:
    if "{example}" in part.text:
        return placeholders.fill(part.text, {"example": part.example})
    return f"{part.text}\n{WORDS[language]['example']}\n{part.example}"


def narrative(
    tasks: list[tuple[Part, Part]], guidelines: Part | None, language: str, values
) -> str:
    """The task directive(s), each with its output format, then the guidelines: what the
    structure enhancement merges into one coherent narrative."""
    words = WORDS[language]
    if len(tasks) == 1:
        task, output = tasks[0]
        blocks = [placeholders.fill(task.text, values), output_block(output, language)]
    else:
        blocks = [words["several"].format(n=len(tasks))]
        for n, (task, output) in enumerate(tasks, start=1):
            blocks.append(
                words["task"].format(n=n)
                + placeholders.fill(task.text, values)
                + "\n"
                + output_block(output, language)
            )
    if guidelines is not None:
        blocks.append(placeholders.fill(guidelines.text, values))
    return "\n\n".join(blocks)


def compose(
    parts: list[Part],
    *,
    rng: random.Random,
    tasks_per_prompt: int = 1,
    scenes: dict[int, tuple[str, str]],
    roles: dict[int, tuple[str, str]],
) -> Composition:
    """One prompt from a random combination of compatible parts. `scenes` and `roles` name the
    project's active scenes and service roles: id -> (Chinese name, English name)."""
    by_kind: dict[str, list[Part]] = {}
    for part in sorted(parts, key=lambda p: p.id):
        by_kind.setdefault(part.kind, []).append(part)
    for kind in REQUIRED_KINDS:
        if not by_kind.get(kind):
            raise AssemblyError(f"no active part of kind {kind}")
    first = rng.choice(by_kind[TASK])
    if first.scene is not None:
        scene = first.scene
    else:
        scene = rng.choice(sorted(scenes)) if scenes else None
    chosen = [first]
    while len(chosen) < tasks_per_prompt:
        types = {t.task_type for t in chosen}
        pool = [
            t
            for t in by_kind[TASK]
            if t not in chosen and fits(t, scene=scene, role=None, task_types={t.task_type})
        ]
        # A multi-task prompt asks for different kinds of work where the library allows.
        pool = [t for t in pool if t.task_type not in types] or pool
        if not pool:
            break
        chosen.append(rng.choice(pool))
    task_types = {t.task_type for t in chosen if t.task_type is not None}

    def pick(kind: str, role: int | None, types: set[int]) -> Part | None:
        pool = [
            p for p in by_kind.get(kind, []) if fits(p, scene=scene, role=role, task_types=types)
        ]
        return rng.choice(pool) if pool else None

    role_part = pick(ROLE, None, task_types)
    if role_part is not None and role_part.role is not None:
        role = role_part.role
    else:
        role = rng.choice(sorted(roles)) if roles else None
    dialogue = pick(DIALOGUE, role, task_types)
    if dialogue is None:
        raise AssemblyError("no dialogue presentation fits")
    tasks = []
    for task in chosen:
        output = pick(OUTPUT, role, {task.task_type} if task.task_type is not None else set())
        if output is None:
            raise AssemblyError(f"no output format fits task narrative {task.id}")
        tasks.append((task, output))
    background = pick(SCENE, role, task_types)
    guidelines = pick(GUIDELINES, role, task_types)
    language = "zh" if is_chinese(first.text) else "en"
    side = 0 if language == "zh" else 1
    values = {
        "scene": scenes[scene][side] if scene in scenes else "",
        "role": roles[role][side] if role in roles else "",
    }
    sections = {
        "background": placeholders.fill(background.text, values) if background else "",
        "role": placeholders.fill(role_part.text, values) if role_part else "",
        "dialogue": placeholders.fill(dialogue.text, values),
        "narrative": narrative(tasks, guidelines, language, values),
    }
    used = [p for p in (background, role_part, dialogue) if p is not None]
    for task, output in tasks:
        used += [task, output]
    if guidelines is not None:
        used.append(guidelines)
    return Composition(
        scene=scene, role=role, language=language, tasks=tasks, used=used, sections=sections
    )
