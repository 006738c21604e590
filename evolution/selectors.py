from __future__ import annotations

from django.db.models import Count, QuerySet

from curation.models import Dialogue, Project
from evolution import prompts
from evolution.models import EvolutionOperator, Instruction, Prompt, TemplatePart


def instruction_queue(
    *, project: Project, state: str = "", task_type: str = "", scene: str = ""
) -> QuerySet[Instruction]:
    items = Instruction.objects.filter(project=project).select_related(
        "task_type", "scene", "service_role"
    )
    if state:
        items = items.filter(state=state)
    if task_type:
        items = items.filter(task_type__key=task_type)
    if scene:
        items = items.filter(scene__key=scene)
    return items.order_by("id")


def instruction_counts(*, project: Project, task_type: str = "", scene: str = "") -> dict[str, int]:
    """How many instructions are in each state (under the same filters), in one query."""
    items = instruction_queue(project=project, task_type=task_type, scene=scene)
    counts = dict(items.order_by().values_list("state").annotate(n=Count("id")))
    return {state: counts.get(state, 0) for state in Instruction.State.values}


def operator_choices(*, project: Project) -> list[dict[str, str]]:
    """The project's active operators, or the defaults it will get when it first evolves."""
    saved = list(
        EvolutionOperator.objects.filter(project=project, active=True).values(
            "key", "name_en", "name_zh"
        )
    )
    if saved:
        return saved
    return [
        {"key": key, "name_en": name_en, "name_zh": name_zh}
        for key, (_kind, name_zh, name_en, _zh, _en) in prompts.OPERATORS.items()
    ]


def lineage(*, seed: Instruction) -> list[dict]:
    """The seed's family tree as nested dicts {"node", "children"}, in one query."""
    members = list(Instruction.objects.filter(root=seed).order_by("generation", "id"))
    children: dict[int, list[Instruction]] = {}
    for member in members:
        children.setdefault(member.parent_id, []).append(member)

    def tree(node: Instruction) -> dict:
        return {"node": node, "children": [tree(c) for c in children.get(node.pk, [])]}

    return [tree(seed)]


# Stage 2 ------------------------------------------------------------------------------------

PENDING = "pending"  # the review queue's default: assembled or enhanced, not yet decided


def part_library(*, project: Project, kind: str = "") -> QuerySet[TemplatePart]:
    parts = TemplatePart.objects.filter(project=project).select_related(
        "scene", "service_role", "task_type"
    )
    if kind:
        parts = parts.filter(kind=kind)
    return parts.order_by("kind", "id")


def prompt_queue(
    *, project: Project, state: str = PENDING, task_type: str = ""
) -> QuerySet[Prompt]:
    items = Prompt.objects.filter(project=project).select_related(
        "task_type", "scene", "service_role"
    )
    if state == PENDING:
        items = items.filter(state__in=[Prompt.State.ASSEMBLED, Prompt.State.ENHANCED])
    elif state:
        items = items.filter(state=state)
    if task_type:
        items = items.filter(task_type__key=task_type)
    return items.order_by("id")


def prompt_counts(*, project: Project, task_type: str = "") -> dict[str, int]:
    items = prompt_queue(project=project, state="", task_type=task_type)
    counts = dict(items.order_by().values_list("state").annotate(n=Count("id")))
    out = {state: counts.get(state, 0) for state in Prompt.State.values}
    out[PENDING] = out[Prompt.State.ASSEMBLED] + out[Prompt.State.ENHANCED]
    return out


def prompts_for_labeling(*, project: Project) -> QuerySet[Prompt]:
    """The prompts the label stage may use: approved ones only."""
    return Prompt.objects.filter(project=project, state=Prompt.State.APPROVED).order_by("id")


def preview_dialogues(*, prompts: list[Prompt]) -> dict[int, Dialogue | None]:
    """A real dialogue of each prompt's scene (any of the project's if the scene has none), the
    same one each time the prompt is opened; one query per scene on the page plus one."""
    pools: dict[int | None, list[int]] = {}
    for prompt in prompts:
        if prompt.scene_id in pools:
            continue
        dialogues = Dialogue.objects.filter(project_id=prompt.project_id)
        ids: list[int] = []
        if prompt.scene_id:
            ids = list(
                dialogues.filter(scene_id=prompt.scene_id)
                .order_by("id")
                .values_list("pk", flat=True)[:200]
            )
        if not ids:
            if None not in pools:
                pools[None] = list(dialogues.order_by("id").values_list("pk", flat=True)[:200])
            ids = pools[None]
        pools[prompt.scene_id] = ids
    chosen = {
        prompt.pk: pools[prompt.scene_id][prompt.pk % len(pools[prompt.scene_id])]
        for prompt in prompts
        if pools[prompt.scene_id]
    }
    found = Dialogue.objects.in_bulk(set(chosen.values()))
    return {prompt.pk: found.get(chosen.get(prompt.pk, 0)) for prompt in prompts}
