# SPDX-License-Identifier: BSD-3-Clause
"""Shared helpers of the benchmark runners under bench/.

Every runner prints one line per measurement, `bench: <name>: <value> <unit>`, and where
a peer ran in the same run `ratio: <name>: <libvdev/peer>`; the spread of the runs goes
on a `#` line so tools reading the other two formats can ignore it. Measurements are
medians of RUNS runs after one warm-up, libvdev and its peer alternating (A B A B ...)
so that drift of a shared machine lands on both sides alike."""
import contextlib
import fcntl
import os
import statistics
import sys

# CPUs the two processes of a client/server benchmark run on: the front end (the
# "guest") on one, the back end on the other.
FRONT_CPU = 0
BACK_CPU = 1 if os.cpu_count() and os.cpu_count() > 1 else 0

LOCK_PATH = "/run/lock/libvdev-bench.lock"


def emit(name, value, unit):
    print(f"bench: {name}: {value:.6g} {unit}", flush=True)


def emit_ratio(name, ours, peer):
    """The libvdev/peer ratio of two rates (higher is better)."""
    if peer <= 0:
        print(f"# ratio: {name}: peer measured 0, no ratio", flush=True)
        return None
    r = ours / peer
    print(f"ratio: {name}: {r:.3f}", flush=True)
    return r


def note(text):
    print(f"# {text}", flush=True)


def spread(name, values, unit):
    vs = sorted(values)
    note(f"{name}: median of {len(vs)}: {statistics.median(vs):.6g} {unit} "
         f"(min {vs[0]:.6g}, max {vs[-1]:.6g})")


def alternate(runs, measure_a, measure_b, warmup=True):
    """Call measure_a() and measure_b() alternately `runs` times each (after one
    warm-up call of each unless warmup is False); return the two lists of results."""
    if warmup:
        measure_a()
        measure_b()
    a, b = [], []
    for _ in range(runs):
        a.append(measure_a())
        b.append(measure_b())
    return a, b


def report_pair(name, unit, ours, peer, peer_label):
    """Print medians of both sides, their spread, and the ratio."""
    m_ours = statistics.median(ours)
    m_peer = statistics.median(peer)
    emit(f"{name} libvdev", m_ours, unit)
    emit(f"{name} {peer_label}", m_peer, unit)
    spread(f"{name} libvdev", ours, unit)
    spread(f"{name} {peer_label}", peer, unit)
    return emit_ratio(name, m_ours, m_peer)


def pinned(cmd, cpu):
    """cmd run on one CPU (taskset from util-linux)."""
    return ["taskset", "-c", str(cpu)] + list(cmd)


@contextlib.contextmanager
def exclusive():
    """Hold the machine-wide benchmark lock: two benchmarks measuring at once on a
    two-core machine would each report the other's noise."""
    os.makedirs(os.path.dirname(LOCK_PATH), exist_ok=True)
    with open(LOCK_PATH, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def die(msg):
    print(f"bench: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)
