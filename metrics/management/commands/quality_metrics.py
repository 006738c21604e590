import json

from django.core.management.base import BaseCommand, CommandError

from metrics.quality import GRADES, Row
from metrics.services.compute import metrics_compute

FIELDS = ("prompt", "dialogue", "output", "label_quality", "task_type", "output_format")


def read_rows(path: str) -> list[Row]:
    """One sample per JSONL line; each problem named with its line number."""
    rows = []
    try:
        handle = open(path, encoding="utf-8")
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as error:
                raise CommandError(f"line {number}: not JSON ({error})") from None
            if not isinstance(data, dict):
                raise CommandError(f"line {number}: expected an object")
            for key in ("prompt", "dialogue"):
                if not isinstance(data.get(key), str):
                    raise CommandError(f"line {number}: {key!r} must be a string")
            quality = data.get("label_quality")
            if quality is not None and quality not in GRADES:
                raise CommandError(
                    f"line {number}: label_quality must be high, medium, low or null"
                )
            rows.append(
                Row(**{k: data.get(k) if k != "output" else data.get(k, "") for k in FIELDS})
            )
    return rows


class Command(BaseCommand):
    help = (
        "The paper's quality metrics (prompt and input complexity, richness, redundancy, label "
        "quality, task-type and output-format distributions) of a JSONL file of samples, with "
        "the code that computes a dataset version's metrics."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--embedding", default="tokens", help="tokens (default), minilm or endpoint:NAME"
        )
        parser.add_argument(
            "--threshold",
            type=float,
            default=None,
            help="cosine threshold of the community detection (default: the backend's own)",
        )
        parser.add_argument("--top-n", type=int, default=1, dest="top_n")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object"
        )

    def handle(self, *args, file: str, embedding: str, threshold, top_n: int, as_json: bool, **_):
        if top_n < 1:
            raise CommandError("--top-n must be at least 1")
        if threshold is not None and not 0 < threshold < 1:
            raise CommandError("--threshold must be between 0 and 1")
        rows = read_rows(file)
        try:
            result = metrics_compute(rows, embedding=embedding, threshold=threshold, top_n=top_n)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if as_json:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self.stdout.write(f"samples            {result['samples']}")
        self.stdout.write(f"prompt complexity  {result['prompt_complexity']:.1f} tokens")
        self.stdout.write(f"input complexity   {result['input_complexity']:.1f} tokens")
        self.stdout.write(
            f"richness           {result['richness']:.2%} "
            f"({result['communities']} communities, top-n {top_n}, threshold "
            f"{result['threshold']}, {result['embedding']})"
        )
        self.stdout.write(f"redundancy         {result['redundancy']:.2%}")
        quality = result["label_quality"]
        self.stdout.write(
            "label quality      " + "  ".join(f"{g} {quality[g]:.2%}" for g in GRADES)
        )
        for title, key in (("task types", "task_types"), ("output formats", "output_formats")):
            shares = ", ".join(f"{k} {v:.1%}" for k, v in result[key].items()) or "-"
            self.stdout.write(f"{title:<19}{shares}")
