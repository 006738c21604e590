"""The template library of stage 2: parts by kind, their placeholders checked on save."""

from __future__ import annotations

import json
from typing import Any

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


def _term(model, project: Project, value, field: str):
    """A taxonomy term of the project by id or key, or None for an empty value."""
    if value in (None, ""):
        return None
    lookup = {"pk": int(value)} if str(value).isdigit() else {"key": str(value)}
    term = model.objects.filter(project=project, **lookup).first()
    if term is None:
        raise ValidationError({field: _("“%(v)s” is not one of this project's.") % {"v": value}})
    return term


def _clean(project: Project, data: dict[str, Any], current: TemplatePart | None) -> dict[str, Any]:
    def value(name: str, default: Any = "") -> Any:
        if name in data:
            return data[name]
        if current is not None:
            return getattr(current, name)
        return default

    kind = str(value("kind"))
    if kind not in K.values:
        raise ValidationError(
            {"kind": _("Choose one of: %(kinds)s.") % {"kinds": ", ".join(K.values)}}
        )
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {"kind": kind}
    instruction = None
    if kind == K.TASK:
        given = value("instruction")
        given_id = given.pk if isinstance(given, Instruction) else given
        instruction = Instruction.objects.filter(
            project=project, pk=int(given_id) if str(given_id or "").isdigit() else 0
        ).first()
        if instruction is None or instruction.state != Instruction.State.ACCEPTED:
            errors["instruction"] = [_("A task narrative comes from an accepted instruction.")]
    cleaned["instruction"] = instruction
    text = str(value("text") or "").strip()
    if not text and instruction is not None:
        text = instruction.text
    if not text:
        errors["text"] = [_("A part needs its text.")]
    elif len(text) > MAX_TEXT:
        errors["text"] = [_("At most %(n)d characters.") % {"n": MAX_TEXT}]
    else:
        problems = placeholder_errors(
            text, allowed=ALLOWED[kind], required=REQUIRED.get(kind, set())
        )
        if problems:
            errors["text"] = problems
    cleaned["text"] = text
    name = str(value("name") or "").strip()[:100]
    cleaned["name"] = name or text[:40]
    output_format = str(value("output_format") or "")
    example = str(value("example") or "").strip()
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
    for field, model in (("scene", Scene), ("service_role", ServiceRole), ("task_type", TaskType)):
        raw = data.get(field, getattr(current, f"{field}_id", None) if current else None)
        try:
            cleaned[field] = _term(model, project, raw, field)
        except ValidationError as error:
            errors.update(error.message_dict)
    if instruction is not None:
        cleaned["task_type"] = instruction.task_type
        cleaned["scene"] = cleaned["scene"] or instruction.scene
    if "active" in data:
        cleaned["active"] = data["active"] in (True, "true", "on", "1", 1)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def part_create(*, project: Project, data: dict[str, Any], actor) -> TemplatePart:
    cleaned = _clean(project, data, None)
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
def part_update(
    *, part: TemplatePart, data: dict[str, Any], revision: int | None, actor
) -> TemplatePart:
    """Change a part; refused if someone saved it since `revision`. Prompts assembled before keep
    the text they were made with and record the part's revision then."""
    data = {**data, "kind": part.kind}  # a part keeps its kind: make a new one instead
    cleaned = _clean(part.project, data, part)
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
