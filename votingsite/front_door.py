"""The front door's configuration for a local run: the shipped nginx.conf, as it is, with
the files it includes written for loopback addresses (and static-files.conf as shipped).

deploy/k8s/base/front-door/ holds the door's configuration as Kubernetes (and the image) use
it; `scripts/run` and the tests (tests/support/processes.py) put a copy of nginx.conf in a
directory of their own beside a listen.conf and an upstreams.conf naming local ports, a
clients.conf trusting no proxy (visitors connect to it directly: each connection's own
address is the one the door counts) and a metrics.conf putting the door's own numbers on
a socket in that directory (`metrics.sock`: no port to collide with) and a static.conf
serving collectstatic's directory from disk (`--static`; without it the voting role
serves static files, as in the tests' debug mode) and a door-pages.conf naming the
directory of the door's pages for people (`--pages`, written by `manage.py door_pages`;
without it the door answers those refusals in plain text), and start
Debian's nginx on it with the Procfile's `door` line.

    python -m votingsite.front_door DIR --listen 127.0.0.1:8000 \\
        --voting 127.0.0.1:8001 --results 127.0.0.1:8002 [--static staticfiles] \\
        [--pages DIR/pages]
"""

from __future__ import annotations

import argparse
import ipaddress
import shutil
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "k8s" / "base" / "front-door"
SHARED = "nginx.conf"
STATIC_FILES = "static-files.conf"
IMAGE_STATIC_ROOT = "/app/staticfiles"  # the Dockerfile's DJANGO_STATIC_ROOT
IMAGE_DOOR_PAGES = "/app/door-pages"  # where the Dockerfile has manage.py door_pages write
METRICS_SOCKET = "metrics.sock"
EMPTY = "/nonexistent"  # no pages: every try_files falls back to the text answer


def address(value: str) -> str:
    """`host:port` with a loopback or any IP address and a port from 1 to 65535."""
    host, sep, port = value.rpartition(":")
    try:
        ipaddress.ip_address(host.strip("[]"))
        ok = bool(sep) and 0 < int(port) < 65536
    except ValueError:
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"{value!r} is not an address like 127.0.0.1:8000")
    return value


def prepare(
    directory: Path,
    *,
    listen: str,
    voting: str,
    results: str,
    static: Path | None = None,
    pages: Path | None = None,
) -> Path:
    """Writes the door's configuration into `directory` (made if missing) and returns the
    path of its nginx.conf; `directory` is also nginx's -p directory (pid, temp files).
    `static`: collectstatic's directory, served from disk as in the image; None: the
    voting role serves static files (the tests, which run it in debug mode). `pages`: the
    door's pages for people (manage.py door_pages); None: plain text instead."""
    for value in (listen, voting, results):
        address(value)
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CONFIG / SHARED, directory / SHARED)
    shutil.copyfile(CONFIG / STATIC_FILES, directory / STATIC_FILES)
    (directory / "static.conf").write_text(static_conf(static), encoding="utf-8")
    (directory / "door-pages.conf").write_text(door_pages_conf(pages), encoding="utf-8")
    (directory / "listen.conf").write_text(f"listen {listen};\n", encoding="utf-8")
    (directory / "upstreams.conf").write_text(
        f"upstream voting_role {{\n    server {voting};\n}}\n"
        f"upstream results_role {{\n    server {results};\n}}\n",
        encoding="utf-8",
    )
    (directory / "clients.conf").write_text(
        "# Visitors connect directly: each connection's own address is theirs.\n",
        encoding="utf-8",
    )
    # A socket left by a door that was killed would stop the next one binding it.
    (directory / METRICS_SOCKET).unlink(missing_ok=True)
    (directory / "metrics.conf").write_text(
        f"listen unix:{directory / METRICS_SOCKET};\n", encoding="utf-8"
    )
    return directory / SHARED


def static_conf(static: Path | None) -> str:
    """The shipped static.conf with this run's directory, or none (the voting role's)."""
    if static is None:
        return "# No static files on disk: the voting role serves them (WhiteNoise).\n"
    shipped = (CONFIG / "static.conf").read_text(encoding="utf-8")
    line = f"    alias {IMAGE_STATIC_ROOT}/;"
    if line not in shipped:
        raise ValueError("static.conf no longer names the image's directory")
    return shipped.replace(line, f"    alias {safe(static.resolve())}/;")


def door_pages_conf(pages: Path | None) -> str:
    """The shipped door-pages.conf with this run's directory, or an empty one (nginx then
    finds no page and answers in plain text)."""
    if pages is None:
        return f"# No pages for people: the door's refusals are plain text.\nroot {EMPTY};\n"
    shipped = (CONFIG / "door-pages.conf").read_text(encoding="utf-8")
    line = f"root {IMAGE_DOOR_PAGES};"
    if line not in shipped:
        raise ValueError("door-pages.conf no longer names the image's directory")
    return shipped.replace(line, f"root {safe(pages.resolve())};")


def safe(path: Path) -> Path:
    """`path`, if it can be written into nginx's configuration as it is."""
    if any(c in str(path) for c in " ;{}\"'#$"):
        raise ValueError(f"{path} cannot be written into nginx's configuration as it is")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the front door's local configuration.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--listen", type=address, default="127.0.0.1:8000")
    parser.add_argument("--voting", type=address, default="127.0.0.1:8001")
    parser.add_argument("--results", type=address, default="127.0.0.1:8002")
    parser.add_argument(
        "--static", type=Path, help="collectstatic's directory, served from disk by the door"
    )
    parser.add_argument(
        "--pages", type=Path, help="the door's pages for people (manage.py door_pages)"
    )
    args = parser.parse_args(argv)
    prepare(
        args.directory.resolve(),
        listen=args.listen,
        voting=args.voting,
        results=args.results,
        static=args.static,
        pages=args.pages,
    )


if __name__ == "__main__":
    main()
