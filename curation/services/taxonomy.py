from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.text import slugify
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


def _clean_scenes(project: Project, value: Any) -> list[Scene]:
    """The project's scenes named by key or id: a list, or a text of keys separated by commas
    or spaces. Anything else, or a scene of another project, is refused under `scenes`."""
    if value is None or value == "":
        value = []
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value
    ):
        raise ValidationError({"scenes": _("Give the scenes as a list of scene keys.")})
    wanted = list(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))
    scenes = list(Scene.objects.filter(project=project))
    by_key = {scene.key: scene for scene in scenes}
    by_id = {str(scene.pk): scene for scene in scenes}
    found, unknown = [], []
    for name in wanted:
        scene = by_key.get(name) or by_id.get(name)
        if scene is None:
            unknown.append(name)
        elif scene not in found:
            found.append(scene)
    if unknown:
        raise ValidationError(
            {
                "scenes": _("Not scenes of this project: %(names)s.")
                % {"names": ", ".join(f"“{n}”" for n in unknown[:10])}
            }
        )
    return found


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


def _clean_requirements(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError({field: _("Give the requirements as a list of texts, one per line.")})
    return [item.strip() for item in value if item.strip()]


def _clean(
    model: type[TaxonomyTerm], data: dict[str, Any], project: Project
) -> tuple[dict[str, Any], list[Scene] | None]:
    """Validate the editable fields of a term; every problem is named by its field. Returns the
    cleaned fields and, for a role whose data names them, its scenes (None: left as they are)."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    allowed = set(term_fields(model)) | ({"scenes"} if model is ServiceRole else set())
    scenes = None
    if model is ServiceRole and "scenes" in data:
        try:
            scenes = _clean_scenes(project, data["scenes"])
        except ValidationError as error:
            errors.update({k: v[0] for k, v in error.message_dict.items()})
    unknown = sorted(set(data) - allowed)
    if unknown:
        errors["__all__"] = _("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)}
    if "key" in data:
        key = slugify(str(data["key"]))
        if not key:
            errors["key"] = _("A key needs latin letters, digits or hyphens.")
        cleaned["key"] = key
    for field in ("name_en", "name_zh"):
        if field in data:
            value = str(data[field]).strip()
            if not value:
                errors[field] = _("This name cannot be empty.")
            elif len(value) > 200:
                errors[field] = _("At most 200 characters.")
            cleaned[field] = value
    if "weight" in data:
        try:
            weight = Decimal(str(data["weight"]).strip())
        except InvalidOperation:
            weight = None
        if weight is None or not weight.is_finite() or weight < 0 or weight > Decimal("99999"):
            errors["weight"] = _("A weight is a number from 0 to 99999.")
        else:
            cleaned["weight"] = weight.quantize(Decimal("0.001"))
    if "position" in data:
        try:
            cleaned["position"] = int(data["position"])
            if cleaned["position"] < 0:
                raise ValueError
        except (TypeError, ValueError):
            errors["position"] = _("A position is a whole number from 0.")
    if "active" in data:
        cleaned["active"] = data["active"] in (True, "true", "on", "1", 1)
    for field in _TASK_FIELDS:
        if field in data and model is TaskType:
            try:
                cleaned[field] = _clean_requirements(data[field], field)
            except ValidationError as error:
                errors.update({k: v[0] for k, v in error.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    return cleaned, scenes


@transaction.atomic
def taxonomy_term_create(
    *, project: Project, model: type[TaxonomyTerm], data: dict[str, Any], actor
) -> TaxonomyTerm:
    cleaned, scenes = _clean(model, data, project)
    missing = [f for f in ("key", "name_en", "name_zh") if f not in cleaned]
    if missing:
        raise ValidationError({f: _("This field is required.") for f in missing})
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
    *, term: TaxonomyTerm, data: dict[str, Any], revision: int, actor
) -> TaxonomyTerm:
    """Change a term; refused with ConflictError if someone saved it since `revision`. A role's
    scenes change with it (the revision guards them too)."""
    model = type(term)
    cleaned, scenes = _clean(model, data, term.project)
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
