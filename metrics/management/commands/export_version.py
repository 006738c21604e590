import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from metrics.export import FORMATS
from metrics.models import DatasetVersion
from metrics.services.export import version_export, version_manifest


class Command(BaseCommand):
    help = (
        "Export an approved dataset version for fine-tuning: PATH gets the data, "
        "PATH.manifest.json its manifest (version, hash, metrics, counts); with llamafactory, "
        "dataset_info.json beside PATH gets its entry."
    )

    def add_arguments(self, parser):
        parser.add_argument("version_id", type=int)
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument("--out", required=True)

    def handle(self, *args, version_id: int, fmt: str, out: str, **options):
        version = (
            DatasetVersion.objects.select_related("project", "decided_by")
            .filter(pk=version_id)
            .first()
        )
        if version is None:
            raise CommandError(f"no dataset version {version_id}")
        try:
            chunks = version_export(version=version, fmt=fmt)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        path = Path(out)
        if path.parent and not path.parent.exists():
            raise CommandError(f"the directory {path.parent} does not exist")
        # Written beside, then renamed: a failed export never leaves half a file at PATH.
        partial = path.with_name(path.name + ".partial")
        with partial.open("w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(chunk)
        partial.replace(path)
        manifest = version_manifest(version=version, fmt=fmt)
        manifest["file"] = path.name
        Path(f"{path}.manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        if fmt == "llamafactory":
            info_path = path.with_name("dataset_info.json")
            info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.exists() else {}
            info.update(
                {
                    manifest["dataset"]: {
                        **manifest["dataset_info"][manifest["dataset"]],
                        "file_name": path.name,
                    }
                }
            )
            info_path.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
        self.stdout.write(
            f"exported version={version.pk} format={fmt} samples={version.sample_count} "
            f"hash={version.content_hash} out={path}"
        )
