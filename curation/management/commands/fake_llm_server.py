"""Run the OpenAI-compatible fake LLM server in the foreground (tests, benchmarks, offline demo).

    python manage.py fake_llm_server --port 8765 --latency-ms 50 --error-rate 0.1 --seed 1

then point a provider at http://127.0.0.1:8765/v1 with any API key."""

import ipaddress
import signal

from django.core.management.base import BaseCommand, CommandError

from curation.llm.fake_server import ERROR_KINDS, FakeLLMServer


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Serve an OpenAI-compatible fake LLM (chat completions, streaming, embeddings, "
        "injected failures) on loopback until interrupted."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
        parser.add_argument(
            "--latency-ms", type=int, default=0, help="delay of every completion, in ms"
        )
        parser.add_argument(
            "--error-rate", type=float, default=0.0, help="share of requests that fail (0..1)"
        )
        parser.add_argument("--seed", type=int, default=0, help="seed of the failure draws")
        parser.add_argument(
            "--errors",
            default="429,500",
            help=f"comma-separated failure kinds to draw from ({','.join(ERROR_KINDS)})",
        )
        parser.add_argument(
            "--hang-seconds",
            type=float,
            default=30.0,
            help="how long a 'hang' failure waits before answering",
        )
        parser.add_argument(
            "--allow-external",
            action="store_true",
            help="allow a non-loopback --host (this is a test server: think twice)",
        )
        parser.add_argument("--verbose", action="store_true", help="log every request")

    def handle(self, *args, **options):
        host = options["host"]
        if not options["allow_external"] and not is_loopback(host):
            raise CommandError(
                f"Refusing to listen on {host!r}: the fake LLM server is a test server and only "
                "binds a loopback address (127.0.0.1, ::1, localhost) unless --allow-external."
            )
        error_rate = options["error_rate"]
        if not 0.0 <= error_rate <= 1.0:
            raise CommandError("--error-rate must be between 0 and 1.")
        if options["latency_ms"] < 0 or options["hang_seconds"] < 0:
            raise CommandError("--latency-ms and --hang-seconds must not be negative.")
        try:
            server = FakeLLMServer(
                host=host,
                port=options["port"],
                latency_ms=options["latency_ms"],
                error_rate=error_rate,
                seed=options["seed"],
                errors=[kind for kind in options["errors"].split(",") if kind.strip()],
                hang_seconds=options["hang_seconds"],
                verbose=options["verbose"],
            )
            server.bind()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{options['port']}: {exc}") from exc

        self.stdout.write(
            f"fake LLM server on {server.url} "
            f"(latency {options['latency_ms']} ms, error rate {error_rate})"
        )
        self.stdout.flush()
        previous = signal.signal(signal.SIGTERM, _interrupt)  # terminate() exits cleanly too
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.stop()
        self.stdout.write("fake LLM server stopped")
