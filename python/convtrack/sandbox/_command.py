"""``python -m convtrack.sandbox`` and ``convtrack sandbox``: the receiver in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import types
from typing import Optional, Sequence

from convtrack.sandbox._receiver import Sandbox


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m convtrack.sandbox``: serve in the foreground until Ctrl-C or SIGTERM.

    The first line on stdout is the URL (use it as the ``endpoint`` setting).
    """
    p = argparse.ArgumentParser(prog="python -m convtrack.sandbox", description="Local Conversions API sandbox receiver.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 picks a free one)")
    p.add_argument("--token", default="sandbox-token", help="access token to accept (default sandbox-token)")
    p.add_argument("--api-version", default=None, help="only serve this API version, like v27.0")
    p.add_argument("--pixel", action="append", default=None, metavar="PIXEL_ID",
                   help="a pixel id that exists for the health check (repeatable; default: every pixel id)")
    args = p.parse_args(argv)

    stop = threading.Event()
    try:
        sandbox = Sandbox(host=args.host, port=args.port, token=args.token, api_version=args.api_version,
                          pixels=args.pixel).start()
    except (OSError, ValueError) as e:
        sys.stderr.write(f"convtrack sandbox: cannot start: {e}\n")
        return 1

    def on_signal(signum: int, frame: Optional[types.FrameType]) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        sys.stdout.write(sandbox.url + "\n")
        sys.stdout.flush()
        sys.stderr.write(
            f"convtrack sandbox listening on {sandbox.url} (POST /{{version}}/{{pixel_id}}/events; "
            "GET /_sandbox/stats with Authorization: Bearer <token>); Ctrl-C to stop\n"
        )
        sys.stderr.flush()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0
