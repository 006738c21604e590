"""Exporting an approved version: its items streamed from the database in chunks, and its
manifest (version, hash, metrics, counts, and for LLaMA-Factory the dataset_info.json entry)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics import export
from metrics.models import DatasetVersion, VersionItem


def _examples(version: DatasetVersion) -> Iterator[export.Example]:
    rows = (
        VersionItem.objects.filter(version=version)
        .order_by("position")
        .values_list("system", "training_prompt", "rendered_input", "output")
    )
    for system, training_prompt, rendered, output in rows.iterator(chunk_size=2000):
        yield export.Example(system, export.training_prompt_of(training_prompt, rendered), output)


def dataset_name(version: DatasetVersion) -> str:
    base = f"{version.project.slug}-{version.name}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-") or f"version-{version.pk}"


def export_file_name(*, version: DatasetVersion, fmt: str) -> str:
    """The file the export is saved as; its manifest names it ("file")."""
    return export.FILE_NAMES[fmt].format(name=dataset_name(version))


def export_content_type(*, fmt: str) -> str:
    return f"{export.CONTENT_TYPES[fmt]}; charset=utf-8"


def version_export(*, version: DatasetVersion, fmt: str) -> Iterator[str]:
    """The version's data in `fmt`, as text chunks; only approved versions are exported."""
    if fmt not in export.FORMATS:
        raise ValidationError({"fmt": _("Use one of: %(f)s.") % {"f": ", ".join(export.FORMATS)}})
    if version.state != DatasetVersion.State.APPROVED:
        raise ValidationError(_("Only approved versions are exported."))
    return export.stream(fmt, _examples(version))


def version_manifest(*, version: DatasetVersion, fmt: str, file_name: str = "") -> dict:
    """What the export of `version` in `fmt` holds. `file_name`: the name the data is saved
    under, when not the default one (the command's --out); the manifest and the
    LLaMA-Factory entry name it."""
    counts = Counter()
    grades = Counter()
    for task_type, grade in (
        VersionItem.objects.filter(version=version)
        .values_list("task_type", "label_quality")
        .iterator(chunk_size=5000)
    ):
        counts[task_type] += 1
        grades[grade or "ungraded"] += 1
    name = dataset_name(version)
    manifest = {
        "dataset": name,
        "file": file_name or export_file_name(version=version, fmt=fmt),
        "format": fmt,
        "project": version.project.slug,
        "version": {"id": version.pk, "name": version.name},
        "content_hash": version.content_hash,
        "samples": version.sample_count,
        "counts": {"task_types": dict(counts), "label_quality": dict(grades)},
        "metrics": version.metrics,
        "approved_by": version.decided_by.username if version.decided_by else None,
        "approved_at": version.decided_at.isoformat() if version.decided_at else None,
        "exported_at": timezone.now().isoformat(),
    }
    if fmt == "llamafactory":
        # The system texts of a version (one: the project's at freeze time), as written; no
        # ordering, or DISTINCT would run over (system, version, position), one per item.
        systems = (
            VersionItem.objects.filter(version=version)
            .order_by()
            .values_list("system", flat=True)
            .distinct()
        )
        manifest["dataset_info"] = export.llamafactory_entry(
            name, manifest["file"], system=any(export.clean(s) for s in systems)
        )
    return manifest
