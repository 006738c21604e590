from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from curation import taxonomy_seed
from curation.models import Project, Scene, ServiceRole, SourceType, TaskType, TaxonomyTerm
from curation.services.audit import audit_record, audit_snapshot
from curation.services.revisions import revision_update

_SEEDS: list[tuple[type[TaxonomyTerm], tuple[taxonomy_seed.Term, ...]]] = [
    (Scene, taxonomy_seed.SCENES),
    (SourceType, taxonomy_seed.SOURCE_TYPES),
    (ServiceRole, taxonomy_seed.SERVICE_ROLES),
    (TaskType, taxonomy_seed.TASK_TYPES),
]
_COMMON_FIELDS = ["key", "name_en", "name_zh", "weight", "position", "active"]
_TASK_FIELDS = ["requirements_en", "requirements_zh"]


def term_fields(model: type[TaxonomyTerm]) -> list[str]:
    return _COMMON_FIELDS + (_TASK_FIELDS if model is TaskType else [])


def term_snapshot(term: TaxonomyTerm) -> dict[str, Any]:
    """A term's editable fields for the audit log; a role's scenes as their keys, sorted."""
    snapshot = audit_snapshot(term, term_fields(type(term)))
    if isinstance(term, ServiceRole):
        snapshot["scenes"] = sorted(scene.key for scene in term.scenes.all())
    return snapshot


def taxonomy_seed_project(*, project: Project) -> None:
    """Give a project the paper's scenes, sources, roles and task types (bulk, one query each)."""
    for model, terms in _SEEDS:
        rows = []
        for position, term in enumerate(terms):
            extra: dict[str, Any] = {}
            if model is TaskType:
                extra = {
                    "requirements_en": list(term.requirements_en),
                    "requirements_zh": list(term.requirements_zh),
                }
            rows.append(
                model(
                    project=project,
                    key=term.key,
                    name_en=term.name_en,
                    name_zh=term.name_zh,
                    weight=Decimal(str(term.weight)),
                    position=position,
                    **extra,
                )
            )
        model.objects.bulk_create(rows, ignore_conflicts=True)
    role_scenes_seed(project=project)


def role_scenes_seed(*, project: Project) -> None:
    """Pair the paper's roles with the scenes they work in (where the project has both keys)."""
    scenes = dict(Scene.objects.filter(project=project).values_list("key", "pk"))
    roles = dict(ServiceRole.objects.filter(project=project).values_list("key", "pk"))
    Link = ServiceRole.scenes.through
    Link.objects.bulk_create(
        [
            Link(servicerole_id=roles[role], scene_id=scenes[scene])
            for role, keys in taxonomy_seed.ROLE_SCENES.items()
            for scene in keys
            if role in roles and scene in scenes
        ],
        ignore_conflicts=True,
    )


def _fields(model: type[TaxonomyTerm], values: dict[str, Any], project: Project):
    """The term's own fields and, for a role, its scenes (None: left as they are). `values`
    come typed from the kind's input (`curation.inputs.TERM_INPUTS`)."""
    values = dict(values)
    scenes = values.pop("scenes", None) if model is ServiceRole else None
    unknown = set(values) - set(term_fields(model))
    if unknown:
        raise TypeError(f"not fields of {model.__name__}: {', '.join(sorted(unknown))}")
    if scenes is not None and any(scene.project_id != project.pk for scene in scenes):
        raise ValidationError({"scenes": _("Give the scenes as a list of scene keys.")})
    return values, scenes


@transaction.atomic
def taxonomy_term_create(
    *, project: Project, model: type[TaxonomyTerm], values: dict[str, Any], actor
) -> TaxonomyTerm:
    """Add a term of `model`'s kind: key, names, and optionally weight, position, active, a
    task type's requirements, a role's scenes (Scene rows of the project)."""
    cleaned, scenes = _fields(model, values, project)
    try:
        with transaction.atomic():
            term = model.objects.create(project=project, **cleaned)
    except IntegrityError:
        raise ValidationError(
            {"key": _("The key “%(key)s” is taken in this project.") % {"key": cleaned["key"]}}
        ) from None
    if scenes:
        term.scenes.set(scenes)
    audit_record(
        actor=actor,
        action=f"taxonomy.{model._meta.model_name}.create",
        target=term,
        project=project,
        after=term_snapshot(term),
    )
    return term


@transaction.atomic
def taxonomy_term_update(
    *, term: TaxonomyTerm, changes: dict[str, Any], revision: int, actor
) -> TaxonomyTerm:
    """Change the fields in `changes` (typed); refused with ConflictError if someone saved the
    term since `revision`. A role's scenes change with it (the revision guards them too)."""
    model = type(term)
    cleaned, scenes = _fields(model, changes, term.project)
    before = term_snapshot(term)
    try:
        with transaction.atomic():
            revision_update(
                instance=term,
                revision=revision,
                conflict=_(
                    "Someone else changed “%(term)s” since you opened it; reload to see their "
                    "change."
                )
                % {"term": term},
                **cleaned,
            )
    except IntegrityError:
        raise ValidationError(
            {"key": _("The key “%(key)s” is taken in this project.") % {"key": cleaned.get("key")}}
        ) from None
    if scenes is not None:
        term.scenes.set(scenes)
    audit_record(
        actor=actor,
        action=f"taxonomy.{model._meta.model_name}.update",
        target=term,
        project=term.project,
        before=before,
        after=term_snapshot(term),
    )
    return term


@transaction.atomic
def taxonomy_term_delete(*, term: TaxonomyTerm, actor) -> None:
    """Delete an unused term; a term that data refers to can only be deactivated."""
    model = type(term)
    # Recorded first, while the item still has its id; the transaction drops both on failure.
    audit_record(
        actor=actor,
        action=f"taxonomy.{model._meta.model_name}.delete",
        target=term,
        project=term.project,
        before=term_snapshot(term),
    )
    try:
        with transaction.atomic():
            term.delete()
    except models.ProtectedError:
        raise ValidationError(
            _("“%(term)s” is in use; deactivate it instead of deleting it.") % {"term": term}
        ) from None
