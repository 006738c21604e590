"""Exporting an approved version: its items streamed from the database in chunks, and its
manifest (version, hash, metrics, counts)."""

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
        .values_list("prompt", "dialogue", "rendered_input", "output")
    )
    for prompt, dialogue, rendered, output in rows.iterator(chunk_size=2000):
        yield export.Example(prompt, dialogue, rendered, output)


def dataset_name(version: DatasetVersion) -> str:
    base = f"{version.project.slug}-{version.name}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-") or f"version-{version.pk}"


def export_file_name(*, version: DatasetVersion, fmt: str) -> str:
    """The file the export is saved as; its manifest names it ("file")."""
    return export.FILE_NAMES[fmt].format(name=dataset_name(version))


def version_export(*, version: DatasetVersion, fmt: str) -> Iterator[str]:
    """The version's data in `fmt`, as text chunks; only approved versions are exported."""
    if fmt not in export.FORMATS:
        raise ValidationError(
            {"format": _("Use one of: %(f)s.") % {"f": ", ".join(export.FORMATS)}}
        )
    if version.state != DatasetVersion.State.APPROVED:
        raise ValidationError(_("Only approved versions are exported."))
    return export.stream(fmt, _examples(version))


def version_manifest(*, version: DatasetVersion, fmt: str) -> dict:
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
        "file": export_file_name(version=version, fmt=fmt),
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
        manifest["dataset_info"] = export.llamafactory_entry(name, manifest["file"])
    return manifest
