"""Assembling prompts from template parts (paper §2.2): pure Python, no Django.

A prompt is drawn with its own random generator seeded by (job seed, index), so the same seed
and the same parts give the same prompts, whatever order workers take them in. A task narrative
is paired only with an output format its own words allow (evolution.formats), and a service
role only with a scene it works in.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from evolution import formats, placeholders

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


def needs_role(part: Part) -> bool:
    return "role" in placeholders.names(part.text)


def roleless(part: Part) -> bool:
    """A part that can stand in a prompt without a service role."""
    return part.role is None and not needs_role(part)


def output_block(part: Part, language: str, values: dict[str, str] | None = None) -> str:
    values = values or {}
    if "{example}" in part.text:
        return placeholders.fill(part.text, {**values, "example": part.example})
    text = placeholders.fill(part.text, values)
    return f"{text}\n{WORDS[language]['example']}\n{part.example}"


def narrative(
    tasks: list[tuple[Part, Part]], guidelines: Part | None, language: str, values
) -> str:
    """The task directive(s), each with its output format, then the guidelines: what the
    structure enhancement merges into one coherent narrative."""
    words = WORDS[language]
    if len(tasks) == 1:
        task, output = tasks[0]
        blocks = [placeholders.fill(task.text, values), output_block(output, language, values)]
    else:
        blocks = [words["several"].format(n=len(tasks))]
        for n, (task, output) in enumerate(tasks, start=1):
            blocks.append(
                words["task"].format(n=n)
                + placeholders.fill(task.text, values)
                + "\n"
                + output_block(output, language, values)
            )
    if guidelines is not None:
        blocks.append(placeholders.fill(guidelines.text, values))
    return "\n\n".join(blocks)


def demand(task: Part) -> frozenset[str]:
    """The output formats a task narrative's own words demand ("以要点形式列出…": a list)."""
    return formats.demands(task.text)


def format_fits(task: Part, output: Part) -> bool:
    """An output-format part may follow a task narrative only if it asks for what the
    narrative's words ask for: a narrative that asks for bullet points never gets a table."""
    return formats.fits(demand(task), output.output_format)


def pairing_fits(
    task: Part, *, scenes: Mapping[int, object], scene_roles: Mapping[int, Set[int]]
) -> bool:
    """A task narrative tied to a role goes only where that role works: with its own scene, or
    with some scene of the project that has the role (any, when the project has no scene)."""
    if task.role is None:
        return True
    if task.scene is not None:
        return task.role in scene_roles.get(task.scene, ())
    return not scenes or any(task.role in scene_roles.get(s, ()) for s in scenes)


def drawable_tasks(
    parts: list[Part],
    *,
    scenes: Mapping[int, object],
    scene_roles: Mapping[int, Set[int]],
) -> list[Part]:
    """The task narratives a prompt may start from: each with an output-format part that asks
    for what it asks for, and a scene its role works in. Raises AssemblyError naming why when
    there is none."""
    tasks = sorted((p for p in parts if p.kind == TASK), key=lambda p: p.id)
    outputs = [p for p in parts if p.kind == OUTPUT]
    if not tasks:
        raise AssemblyError(f"no active part of kind {TASK}")
    if not outputs:
        raise AssemblyError(f"no active part of kind {OUTPUT}")
    have = sorted({p.output_format for p in outputs})
    by_format = [t for t in tasks if any(format_fits(t, o) for o in outputs)]
    if not by_format:
        asked = sorted({"+".join(sorted(demand(t))) or "-" for t in tasks})
        raise AssemblyError(
            "no task narrative can be drawn: their words ask for "
            f"{', '.join(asked)}, and the output-format parts are {', '.join(have)}"
        )
    paired = [t for t in by_format if pairing_fits(t, scenes=scenes, scene_roles=scene_roles)]
    if not paired:
        raise AssemblyError(
            "no task narrative can be drawn: each is tied to a service role that works in "
            "none of its scenes"
        )
    return paired


def compose(
    parts: list[Part],
    *,
    rng: random.Random,
    tasks_per_prompt: int = 1,
    scenes: dict[int, tuple[str, str]],
    roles: dict[int, tuple[str, str]],
    scene_roles: Mapping[int, Set[int]],
    domain: tuple[str, str] = ("", ""),
) -> Composition:
    """One prompt from a random combination of compatible parts. `scenes` and `roles` name the
    project's active scenes and service roles: id -> (Chinese name, English name);
    `scene_roles` gives the roles that work in each scene (a scene missing from it has none),
    and a role is drawn only among the roles of the prompt's scene; `domain` is the project's
    domain (Chinese, English) for {domain}."""
    by_kind: dict[str, list[Part]] = {}
    for part in sorted(parts, key=lambda p: p.id):
        by_kind.setdefault(part.kind, []).append(part)
    for kind in REQUIRED_KINDS:
        if not by_kind.get(kind):
            raise AssemblyError(f"no active part of kind {kind}")
    pool = drawable_tasks(parts, scenes=scenes, scene_roles=scene_roles)
    first = rng.choice(pool)
    if first.scene is not None:
        scene = first.scene
    else:
        choices = sorted(scenes)
        if first.role is not None:
            choices = [s for s in choices if first.role in scene_roles.get(s, ())]
        scene = rng.choice(choices) if choices else None
    # The roles that may appear with this scene; with no scene at all, any role may.
    if scene is None:
        candidates = sorted(roles)
    else:
        candidates = sorted(r for r in scene_roles.get(scene, ()) if r in roles)
    role: int | None = first.role

    def role_fits(part: Part, fixed: int | None) -> bool:
        if part.role is None:
            return True
        if fixed is not None:
            return part.role == fixed
        return part.role in candidates

    chosen = [first]
    while len(chosen) < tasks_per_prompt:
        types = {t.task_type for t in chosen}
        more = [
            t
            for t in pool
            if t not in chosen
            and fits(t, scene=scene, role=None, task_types={t.task_type})
            and role_fits(t, role)
        ]
        # A multi-task prompt asks for different kinds of work where the library allows.
        more = [t for t in more if t.task_type not in types] or more
        if not more:
            break
        pick_task = rng.choice(more)
        role = role if role is not None else pick_task.role
        chosen.append(pick_task)
    task_types = {t.task_type for t in chosen if t.task_type is not None}

    def pick(kind: str, role: int | None, types: set[int], *, required: bool = False):
        fitting = [
            p for p in by_kind.get(kind, []) if fits(p, scene=scene, role=role, task_types=types)
        ]
        if role is None:
            # No role: parts tied to one or saying {role} are left out (a required kind keeps
            # them if it has nothing else, {role} then reads as nothing).
            fitting = [p for p in fitting if roleless(p)] or (fitting if required else [])
        return rng.choice(fitting) if fitting else None

    role_part = None
    if candidates or (scene is None and role is not None):
        role_pool = [
            p
            for p in by_kind.get(ROLE, [])
            if fits(p, scene=scene, role=None, task_types=task_types) and role_fits(p, role)
        ]
        role_part = rng.choice(role_pool) if role_pool else None
    if role is None:
        if role_part is not None and role_part.role is not None:
            role = role_part.role
        elif candidates:
            role = rng.choice(candidates)
    dialogue = pick(DIALOGUE, role, task_types, required=True)
    if dialogue is None:
        raise AssemblyError("no dialogue presentation fits")
    tasks = []
    for task in chosen:
        outputs = [
            o
            for o in by_kind[OUTPUT]
            if format_fits(task, o)
            and fits(
                o,
                scene=scene,
                role=role,
                task_types={task.task_type} if task.task_type is not None else set(),
            )
        ]
        if role is None:
            outputs = [o for o in outputs if roleless(o)]
        if not outputs:
            raise AssemblyError(f"no output format fits task narrative {task.id}")
        tasks.append((task, rng.choice(outputs)))
    background = pick(SCENE, role, task_types)
    guidelines = pick(GUIDELINES, role, task_types)
    language = "zh" if is_chinese(first.text) else "en"
    side = 0 if language == "zh" else 1
    values = {
        "scene": scenes[scene][side] if scene in scenes else "",
        "role": roles[role][side] if role in roles else "",
        "domain": domain[side],
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
