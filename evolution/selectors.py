from __future__ import annotations

from django.db.models import Count, QuerySet

from curation.models import Project
from evolution import prompts
from evolution.models import EvolutionOperator, Instruction


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
