"""The Python program that debugpy steps through in bench/dap_round_trip.py.

A loop runs a two-state Bayes filter on a fixed alert sequence, so each `next` lands on
a line that updates a few float variables, as stepping a simulation loop in Python does.

With POMDB_BENCH_NODELAY=1 the program first sets TCP_NODELAY on the socket over which
pydevd (inside this process) talks to debugpy's adapter. debugpy 1.8.22 leaves Nagle's
algorithm on for that socket, and pydevd sends each message's header and body with two
`sendall` calls (pydevd_net_command.py). So on Linux the body waits for the adapter's
delayed acknowledgement of the header, about 40 ms per message.
"""

from __future__ import annotations

import os
import socket

STEPS = 10_000_000
ATTACK_START = 0.1
# P(alerts = o | state) for o in 0..3, without and with an intrusion.
LIKELIHOOD_CLEAN = (0.6, 0.25, 0.1, 0.05)
LIKELIHOOD_INTRUSION = (0.1, 0.2, 0.3, 0.4)


def disable_nagle() -> None:
    """Set TCP_NODELAY on pydevd's connection to the adapter."""
    import pydevd  # importable only when debugpy runs this program

    debugger = pydevd.get_global_debugger()
    debugger.writer.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def main() -> None:
    belief = 0.0
    alerts = 0
    for t in range(STEPS):
        alerts = (t * 7 + alerts) % 4  # the benchmark's breakpoint
        predicted = belief + (1.0 - belief) * ATTACK_START
        intrusion = LIKELIHOOD_INTRUSION[alerts] * predicted
        clean = LIKELIHOOD_CLEAN[alerts] * (1.0 - predicted)
        belief = intrusion / (intrusion + clean)


if __name__ == "__main__":
    if os.environ.get("POMDB_BENCH_NODELAY") == "1":
        disable_nagle()
    main()
