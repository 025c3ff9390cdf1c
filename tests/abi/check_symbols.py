#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Fail if a shared library exports a symbol its version script does not list, or
misses one it does; if two libraries export the same name; or if libvdev (the first
library) exports anything of the driver peer, which lives in libvdev-driver.
Usage: check_symbols.py LIBRARY.so VERSION_SCRIPT [LIBRARY.so VERSION_SCRIPT ...]"""
import re
import subprocess
import sys

# The driver peer's namespaces (include/vdev/driver.h, vu_front.h): test tooling that
# an embedder's libvdev.so must not carry.
DRIVER_PEER = re.compile(r"^vdev_(drv|sim|vu_front)_")


def listed(map_path):
    """The version node's name and the global names of a version script."""
    text = open(map_path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    node = re.search(r"^\s*(\w+)\s*\{", text, flags=re.M)
    block = re.search(r"global:(.*?)local:", text, flags=re.S)
    if node is None or block is None:
        sys.exit(f"{map_path}: no NODE {{ global: ... local: block")
    return node.group(1), {s.strip() for s in block.group(1).split(";") if s.strip()}


def exported(lib_path, node):
    out = subprocess.run(["nm", "-D", "--defined-only", lib_path], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRVWiu":
            names.add(parts[2].split("@")[0])
    # The version node itself shows up as an absolute symbol.
    names.discard(node)
    return names


def check(lib, vmap):
    node, want = listed(vmap)
    have = exported(lib, node)
    extra, missing = sorted(have - want), sorted(want - have)
    for name in extra:
        print(f"{lib}: exported but not in {vmap}: {name}")
    for name in missing:
        print(f"{lib}: in {vmap} but not exported: {name}")
    print(f"{lib}: {len(have)} symbols exported, {len(want)} listed")
    return have, bool(extra or missing)


def main():
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit(__doc__)
    failed = False
    seen = {}
    for i in range(0, len(args), 2):
        lib, vmap = args[i], args[i + 1]
        have, bad = check(lib, vmap)
        failed |= bad
        for name in sorted(have):
            if name in seen:
                print(f"{name}: exported by both {seen[name]} and {lib}")
                failed = True
            seen.setdefault(name, lib)
        if i == 0:
            for name in sorted(n for n in have if DRIVER_PEER.match(n)):
                print(f"{lib}: exports a driver-peer symbol: {name}")
                failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
