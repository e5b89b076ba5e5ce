"""Serve the Debug Adapter Protocol: `python -m adapter [--port N]`."""

from __future__ import annotations

import argparse
import logging
import sys

from adapter.protocol import serve_stdio, serve_tcp
from adapter.session import Session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m adapter",
        description="pomdb's debug adapter: DAP over stdio, or on 127.0.0.1:PORT.",
    )
    parser.add_argument("--port", type=int, help="listen on 127.0.0.1:PORT (0: any free port)")
    parser.add_argument("--log-file", help="write the adapter's log to this file")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level of --log-file (stderr only gets warnings)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    root = logging.getLogger()
    # Every DAP message is logged at DEBUG; formatting them costs time on each step,
    # so the root logger reaches DEBUG only when a log file wants it.
    root.setLevel(args.log_level if args.log_file else logging.WARNING)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(logging.WARNING)
    root.addHandler(stderr)
    if args.log_file:
        handler = logging.FileHandler(args.log_file, encoding="utf-8")
        handler.setLevel(args.log_level)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)

    if args.port is not None:
        serve_tcp(args.port, Session)
    else:
        serve_stdio(Session)
    return 0


if __name__ == "__main__":
    sys.exit(main())
