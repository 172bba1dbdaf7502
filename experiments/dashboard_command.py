"""`caresim dashboard`: start the browser dashboard (experiments/dashboard.py) on this machine.

The page is a Solara app served by uvicorn, the way `solara run` serves one, but started here
so that a port in use is one line and exit code 2, and so that nothing is sent off the machine
(Solara's telemetry is switched off). Solara's page loads a few front-end packages that its
server would fetch from a CDN at the first visit; these machines reach the npm registry only, so
they are fetched once with `npm pack` into Solara's asset cache (`ensure_assets`).
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import tarfile
import tempfile
import warnings
from pathlib import Path

from runner.errors import UserError

APP = "experiments.dashboard"
# the npm packages that the page template of solara 1.64.1 loads (solara.html.j2), and those its
# Vega-Lite widget (solara/widgets/vue/vegalite.vue, behind solara.FigureAltair) asks for by major
# version: each is fetched at that exact version and kept under the name the widget asks for
ASSETS = (("@widgetti/solara-vuetify3-app", "5.2.0"), ("font-awesome", "4.5.0"), ("requirejs", "2.3.6"))
VEGA_ASSETS = (("vega", "5", "5.33.0"), ("vega-lite", "5", "5.23.0"), ("vega-embed", "6", "6.29.0"))
WARNING_OPEN = ("caresim dashboard: listening on {host}, not this machine only: anyone who can reach this "
                "address can run simulations on this machine and read what the page shows")


def port_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=port_value, default=8765, help="port to listen on (default 8765)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; another address lets "
                             "anyone who reaches it run simulations here)")
    parser.add_argument("--data-root", default=None, metavar="DIR",
                        help="folder whose sub-folders hold local authorities' SSDA903 files: the page offers "
                             "them by name (processed on this machine only)")


LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; a port in use or a bad host is a UserError."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except (OSError, socket.gaierror) as exc:
        raise UserError(f"dashboard --host {host}: cannot use this address ({exc.strerror or exc})") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a closed server's port is free at once
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"dashboard --port {port}: cannot listen on {host}:{port} ({exc.strerror}); "
                        "choose another port with --port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def host_warning(host: str) -> str | None:
    """The warning printed when the page listens beyond this machine (None for a loopback address)."""
    return None if host in LOCAL_HOSTS else WARNING_OPEN.format(host=host)


def ensure_assets(cache_dir: Path) -> None:
    """Unpack each npm package of ASSETS into `cache_dir/<name>@<version>/`, and of VEGA_ASSETS
    into `cache_dir/<name>@<major>/`, unless it is there."""
    wanted = [(name, version, version) for name, version in ASSETS] + list(VEGA_ASSETS)
    for name, folder_version, version in wanted:
        target = cache_dir / f"{name}@{folder_version}"
        if target.is_dir():
            continue
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:  # same file system: the rename is atomic
            try:
                done = subprocess.run(["npm", "pack", f"{name}@{version}", "--pack-destination", tmp, "--silent"],
                                      capture_output=True, text=True, timeout=300)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise UserError(f"dashboard: cannot fetch the page's asset {name}@{version} with npm ({exc})") from None
            tarballs = list(Path(tmp).glob("*.tgz"))
            if done.returncode != 0 or len(tarballs) != 1:
                last = (done.stderr.strip().splitlines() or ["no tarball"])[-1]
                raise UserError(f"dashboard: npm pack {name}@{version} failed: {last}")
            unpacked = Path(tmp) / "unpacked"
            with tarfile.open(tarballs[0]) as tar:
                tar.extractall(unpacked, filter="data")
            target.parent.mkdir(parents=True, exist_ok=True)  # a scope such as @widgetti/
            (unpacked / "package").rename(target)


def main(args) -> int:
    if args.data_root is not None:
        root = Path(args.data_root).expanduser()
        if not root.is_dir():
            raise UserError(f"dashboard --data-root {args.data_root}: not a folder")
        os.environ["CARESIM_DATA_ROOT"] = str(root.resolve())
    sock = bind(args.host, args.port)
    warning = host_warning(args.host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    os.environ["SOLARA_APP"] = APP
    os.environ["SERVER_NAME"] = args.host
    os.environ["SERVER_PORT"] = str(args.port)
    import uvicorn
    from solara.server import settings

    settings.main.mode = "production"
    # plain http on localhost: Solara falls back to samesite=lax cookies, which is right here
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    ensure_assets(Path(settings.assets.proxy_cache_dir))
    server = uvicorn.Server(uvicorn.Config("solara.server.starlette:app", log_level="warning",
                                           host=args.host, port=args.port))
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"caresim dashboard: http://{host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    threading.Thread(target=warm_cache, name="caresim-warm-cache", daemon=True).start()
    server.run(sockets=[sock])
    return 0


def warm_cache() -> None:
    """Run the page's first sight (the baseline at the default settings) into the result cache
    while the server starts, so that the first visitor sees it at once; a failure only means
    the page runs it itself. The charts' specs are built too (Altair takes ~0.3 s a chart)."""
    try:
        from experiments import dashboard as page
        from experiments.page import futures
        from experiments.page.mix import to_scenario

        first = futures.run_futures(to_scenario(page.first_mix()), replications=page.DEFAULT_REPLICATIONS,
                                    scale=page.DEFAULT_SCALE, seed=1)
        for make in (futures.care_chart, futures.spend_chart):
            futures.chart_spec(make, first)
        page.keep_first_sight(first)
    except Exception:  # noqa: BLE001 - the page runs it on first visit instead
        pass
