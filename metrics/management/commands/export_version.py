import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from metrics.export import FORMATS
from metrics.models import DatasetVersion
from metrics.services.export import export_file_name, version_export, version_manifest


def _write(path: Path, chunks) -> None:
    # Written beside, then renamed: a failed export never leaves half a file at `path`.
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(chunk)
    partial.replace(path)


class Command(BaseCommand):
    help = (
        "Export an approved dataset version for fine-tuning: PATH gets the data (a directory: "
        "the data is saved there under the export's own file name), PATH.manifest.json its "
        "manifest (version, hash, metrics, counts); with llamafactory, dataset_info.json beside "
        "PATH gets the entry that names PATH's file (other entries are kept)."
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
        if path.is_dir():
            path = path / export_file_name(version=version, fmt=fmt)
        if not path.parent.exists():
            raise CommandError(f"the directory {path.parent} does not exist")
        info_path = path.with_name("dataset_info.json")
        info = {}
        if fmt == "llamafactory" and info_path.exists():
            # Read before anything is written: a broken file stops the export untouched.
            try:
                info = json.loads(info_path.read_text(encoding="utf-8"))
            except ValueError as error:
                raise CommandError(f"{info_path} is not JSON ({error})") from None
            if not isinstance(info, dict):
                raise CommandError(f"{info_path} is not a JSON object of datasets")
        _write(path, chunks)
        manifest = version_manifest(version=version, fmt=fmt, file_name=path.name)
        _write(Path(f"{path}.manifest.json"), [json.dumps(manifest, ensure_ascii=False, indent=2)])
        if fmt == "llamafactory":
            info.update(manifest["dataset_info"])
            _write(info_path, [json.dumps(info, ensure_ascii=False, indent=2)])
        self.stdout.write(
            f"exported version={version.pk} format={fmt} samples={version.sample_count} "
            f"hash={version.content_hash} out={path}"
        )
