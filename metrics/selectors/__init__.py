"""Reads of dataset versions: the list, a comparison, the dashboard's series."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from curation.models import Job, Project
from metrics.models import FREEZE_JOB, DatasetVersion, VersionItem

# The paper's Table 3, column by column: (label, metric key, as percent?)
TABLE3 = [
    ("samples", "samples", False),
    ("richness", "richness", True),
    ("input complexity", "input_complexity", False),
    ("prompt complexity", "prompt_complexity", False),
    ("redundancy", "redundancy", True),
]


def version_list(*, project: Project) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(project=project).select_related(
        "created_by", "submitted_by", "decided_by"
    )


def version_freeze_job(*, version: DatasetVersion) -> Job | None:
    """The job freezing this version (the last one, if it was frozen again after a failure)."""
    return (
        Job.objects.filter(project=version.project, kind=FREEZE_JOB, params__version=version.pk)
        .order_by("-pk")
        .first()
    )


def measured_versions(*, project: Project) -> list[DatasetVersion]:
    """Versions with metrics, oldest first (the dashboard's trend order)."""
    return list(version_list(project=project).exclude(metrics={}).order_by("id"))


def version_preview(*, version: DatasetVersion, limit: int = 20) -> list[VersionItem]:
    return list(VersionItem.objects.filter(version=version).order_by("position")[:limit])


def table3_row(version: DatasetVersion) -> dict:
    m = version.metrics or {}
    quality = m.get("label_quality", {})
    return {
        "version": version,
        "samples": m.get("samples", version.sample_count),
        "richness": m.get("richness"),
        "input_complexity": m.get("input_complexity"),
        "prompt_complexity": m.get("prompt_complexity"),
        "redundancy": m.get("redundancy"),
        "high": quality.get("high"),
        "medium": quality.get("medium"),
        "low": quality.get("low"),
        "communities": m.get("communities"),
    }


def bars(shares: dict[str, float], width: int = 300) -> list[dict]:
    """A horizontal bar per entry for a server-drawn SVG chart (no script needed)."""
    out = []
    for n, (name, share) in enumerate(shares.items()):
        out.append({"name": name, "share": share, "y": n * 22, "w": round(share * width, 1)})
    return out


TREND_HEIGHT, TREND_STEP = 100, 80


def trend_chart(versions: list[DatasetVersion]) -> dict:
    """A line chart of 0-1 metrics across versions, oldest first: richness and the share of
    labels graded high, one point per version carrying its value."""
    series = []
    for key, label in (("richness", _("richness")), ("high", _("high labels"))):
        dots = []
        for n, version in enumerate(versions):
            metrics = version.metrics or {}
            if key == "high":
                value = metrics.get("label_quality", {}).get("high")
            else:
                value = metrics.get(key)
            if value is None:
                continue
            y = round(10 + TREND_HEIGHT - float(value) * TREND_HEIGHT, 1)
            dots.append({"x": 40 + n * TREND_STEP, "y": y, "value": float(value)})
        series.append(
            {
                "key": key,
                "label": label,
                "dots": dots,
                "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
            }
        )
    return {
        "series": series,
        "width": 80 + TREND_STEP * max(len(versions) - 1, 1),
        "labels": [{"x": 40 + n * TREND_STEP, "name": v.name} for n, v in enumerate(versions)],
        "base": 10 + TREND_HEIGHT,
    }


def filters_shown(filters: dict) -> list[tuple[str, str]]:
    """A version's filters as (name, values) pairs a person reads, the empty ones left out."""
    names = {
        "states": _("states"),
        "grades": _("grades"),
        "task_types": _("task types"),
        "scenes": _("scenes"),
        "since": _("reviewed since"),
        "until": _("until"),
    }
    shown = []
    for key, name in names.items():
        value = filters.get(key)
        if value:
            shown.append((name, ", ".join(value) if isinstance(value, list) else str(value)))
    return shown


def quality_bars(version: DatasetVersion, width: int = 300) -> list[dict]:
    """One stacked bar of a version's label quality: high, medium, low, left to right."""
    shares = (version.metrics or {}).get("label_quality", {})
    out, x = [], 0.0
    for grade in ("high", "medium", "low"):
        w = round((shares.get(grade) or 0) * width, 1)
        out.append({"grade": grade, "x": x, "w": w, "share": shares.get(grade) or 0})
        x += w
    return out
