"""The template library of stage 2: parts by kind, their placeholders checked on save."""

from __future__ import annotations

import json
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from curation.models import Project, Scene, ServiceRole, TaskType
from curation.services.audit import audit_record, audit_snapshot
from curation.services.revisions import revision_update
from evolution import placeholders, prompt_parts
from evolution.models import Instruction, TemplatePart

K = TemplatePart.Kind
MAX_TEXT = 4000

# Which placeholders each kind may use; {dialogue} belongs to the dialogue presentation alone
# and must appear there exactly once, so every prompt shows its dialogue once. {domain} (the
# project's business, Project.domain) fits anywhere: it is what keeps parts industry-neutral.
ALLOWED: dict[str, set[str]] = {
    K.SCENE: {"domain", "scene"},
    K.ROLE: {"domain", "scene", "role"},
    K.DIALOGUE: {"domain", "scene", "role", "dialogue"},
    K.TASK: {"domain", "scene", "role"},
    K.OUTPUT: {"domain", "example"},
    K.GUIDELINES: {"domain", "scene", "role"},
}
REQUIRED: dict[str, set[str]] = {K.DIALOGUE: {"dialogue"}}
ONCE = {"dialogue", "example"}

FIELDS = [
    "kind",
    "name",
    "text",
    "scene_id",
    "service_role_id",
    "task_type_id",
    "instruction_id",
    "output_format",
    "example",
    "active",
]


def placeholder_errors(
    text: str, *, allowed: set[str], required: set[str] = frozenset()
) -> list[str]:
    """The placeholder problems of a text, worded for the person who typed it."""
    out = []
    for problem in placeholders.problems(text, allowed=allowed, required=required, once=ONCE):
        names = placeholders.braced(problem.names)
        if problem.kind == "unknown":
            out.append(
                _("Unknown placeholder %(names)s; this kind of part may use: %(allowed)s.")
                % {"names": names, "allowed": placeholders.braced(allowed) or _("none")}
            )
        elif problem.kind == "missing":
            out.append(_("%(names)s is required.") % {"names": names})
        else:
            out.append(_("%(names)s may appear only once.") % {"names": names})
    return out


class PartValues(TypedDict, total=False):
    """The fields of a part a lead gives (PartCreateInput, PartUpdateInput): typed, texts
    within their lengths, terms and the instruction of the project."""

    name: str
    text: str
    scene: Scene | None
    service_role: ServiceRole | None
    task_type: TaskType | None
    instruction: Instruction | None
    output_format: str
    example: str
    active: bool


def _checked(project: Project, kind: str, values: PartValues) -> dict[str, Any]:
    """The fields to store for a part of `kind`, after the rules of its kind: a task narrative
    comes from an accepted instruction (its text by default), an output format has an example
    (a JSON one parses), placeholders are the kind's."""
    if kind not in K.values:
        raise ValidationError(
            {"kind": _("Choose one of: %(kinds)s.") % {"kinds": ", ".join(K.values)}}
        )
    errors: dict[str, list[str]] = {}
    for field in ("scene", "service_role", "task_type", "instruction"):
        row = values.get(field)
        if row is not None and row.project_id != project.pk:
            errors[field] = [_("“%(v)s” is not one of this project's.") % {"v": row.pk}]
    instruction = values.get("instruction") if kind == K.TASK else None
    if kind == K.TASK and (instruction is None or instruction.state != Instruction.State.ACCEPTED):
        errors["instruction"] = [_("A task narrative comes from an accepted instruction.")]
        instruction = None
    cleaned: dict[str, Any] = {"kind": kind, "instruction": instruction}
    text = (values.get("text") or "").strip()
    if not text and instruction is not None:
        text = instruction.text
    if not text:
        errors["text"] = [_("A part needs its text.")]
    elif len(text) > MAX_TEXT:  # an instruction's own text may be longer
        errors["text"] = [_("At most %(n)d characters.") % {"n": MAX_TEXT}]
    else:
        problems = placeholder_errors(
            text, allowed=ALLOWED[kind], required=REQUIRED.get(kind, set())
        )
        if problems:
            errors["text"] = problems
    cleaned["text"] = text
    cleaned["name"] = (values.get("name") or "").strip() or text[:40]
    output_format = values.get("output_format") or ""
    example = (values.get("example") or "").strip()
    if kind == K.OUTPUT:
        if output_format not in TemplatePart.OutputFormat.values:
            errors["output_format"] = [
                _("Choose one of: %(f)s.") % {"f": ", ".join(TemplatePart.OutputFormat.values)}
            ]
        if not example:
            errors["example"] = [_("An output format needs an example of its output.")]
        elif output_format == TemplatePart.OutputFormat.JSON:
            try:
                json.loads(example)
            except ValueError as error:
                errors["example"] = [_("The JSON example does not parse: %(e)s.") % {"e": error}]
    else:
        output_format, example = "", ""
    cleaned["output_format"] = output_format
    cleaned["example"] = example
    for field in ("scene", "service_role", "task_type"):
        cleaned[field] = values.get(field)
    if instruction is not None:
        cleaned["task_type"] = instruction.task_type
        cleaned["scene"] = cleaned["scene"] or instruction.scene
    if "active" in values:
        cleaned["active"] = values["active"]
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def part_create(
    *,
    project: Project,
    actor,
    kind: str,
    name: str = "",
    text: str = "",
    scene: Scene | None = None,
    service_role: ServiceRole | None = None,
    task_type: TaskType | None = None,
    instruction: Instruction | None = None,
    output_format: str = "",
    example: str = "",
    active: bool = True,
) -> TemplatePart:
    """A new part of `kind`. A task narrative takes its text, task type and (unless given)
    scene from its instruction."""
    values: PartValues = {
        "name": name,
        "text": text,
        "scene": scene,
        "service_role": service_role,
        "task_type": task_type,
        "instruction": instruction,
        "output_format": output_format,
        "example": example,
        "active": active,
    }
    cleaned = _checked(project, kind, values)
    if (
        cleaned["instruction"]
        and TemplatePart.objects.filter(
            project=project, instruction=cleaned["instruction"]
        ).exists()
    ):
        raise ValidationError({"instruction": _("This instruction is in the library already.")})
    part = TemplatePart.objects.create(project=project, created_by=actor, **cleaned)
    audit_record(
        actor=actor,
        action="part.create",
        target=part,
        project=project,
        after=audit_snapshot(part, FIELDS),
    )
    return part


@transaction.atomic
def part_update(*, part: TemplatePart, revision: int, actor, changes: PartValues) -> TemplatePart:
    """Change a part (it keeps its kind: make a new one instead); what `changes` does not name
    stays. Refused if someone saved it since `revision`. Prompts assembled before keep the
    text they were made with and record the part's revision then."""
    current: PartValues = {field: getattr(part, field) for field in PartValues.__annotations__}
    cleaned = _checked(part.project, part.kind, {**current, **changes})
    before = audit_snapshot(part, FIELDS)
    revision_update(
        instance=part,
        revision=revision,
        conflict=_("Someone else changed this part since you opened it; reload."),
        **cleaned,
    )
    audit_record(
        actor=actor,
        action="part.update",
        target=part,
        project=part.project,
        before=before,
        after=audit_snapshot(part, FIELDS),
    )
    return part


@transaction.atomic
def parts_from_instructions(*, project: Project, actor) -> int:
    """A task narrative for every accepted instruction not in the library yet; how many made."""
    taken = TemplatePart.objects.filter(project=project, instruction__isnull=False).values(
        "instruction_id"
    )
    fresh = Instruction.objects.filter(project=project, state=Instruction.State.ACCEPTED).exclude(
        pk__in=taken
    )
    made = []
    for instruction in fresh.select_related("task_type"):
        problems = placeholder_errors(instruction.text, allowed=ALLOWED[K.TASK])
        if problems:
            continue  # an instruction with stray {braces}: added by hand after an edit
        made.append(
            TemplatePart(
                project=project,
                kind=K.TASK,
                name=instruction.text[:40],
                text=instruction.text,
                instruction=instruction,
                task_type=instruction.task_type,
                scene_id=instruction.scene_id,
                created_by=actor,
            )
        )
    TemplatePart.objects.bulk_create(made, batch_size=500)
    if made:
        audit_record(
            actor=actor,
            action="part.from_instructions",
            target=project,
            project=project,
            after={"count": len(made)},
        )
    return len(made)


@transaction.atomic
def parts_add_starter(*, project: Project, actor) -> int:
    """The starter parts (background, role, dialogue presentation, five output formats with
    examples, guidelines) that the library lacks by kind and name; how many made. They name
    no industry: they say {domain}, which assembly fills with the project's domain."""
    have = set(TemplatePart.objects.filter(project=project).values_list("kind", "name"))
    made = [
        TemplatePart(
            project=project,
            kind=kind,
            name=name,
            text=text,
            output_format=output_format,
            example=example,
            created_by=actor,
        )
        for kind, name, text, output_format, example in prompt_parts.STARTER_PARTS
        if (kind, name) not in have
    ]
    TemplatePart.objects.bulk_create(made)
    if made:
        audit_record(
            actor=actor,
            action="part.starter",
            target=project,
            project=project,
            after={"count": len(made)},
        )
    return len(made)
