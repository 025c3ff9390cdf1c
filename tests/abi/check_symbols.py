#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Fail if the shared library exports a symbol the version script does not list, or
misses one it does. Usage: check_symbols.py LIBRARY.so VERSION_SCRIPT"""
import re
import subprocess
import sys


def listed(map_path):
    text = open(map_path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    block = re.search(r"global:(.*?)local:", text, flags=re.S)
    if block is None:
        sys.exit(f"{map_path}: no global: ... local: block")
    return {s.strip() for s in block.group(1).split(";") if s.strip()}


def exported(lib_path):
    out = subprocess.run(["nm", "-D", "--defined-only", lib_path], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRVWiu":
            names.add(parts[2].split("@")[0])
    # The version node itself shows up as an absolute symbol.
    names.discard("LIBVDEV_0")
    return names


def main():
    lib, vmap = sys.argv[1], sys.argv[2]
    want, have = listed(vmap), exported(lib)
    extra, missing = sorted(have - want), sorted(want - have)
    for name in extra:
        print(f"exported but not in the version script: {name}")
    for name in missing:
        print(f"in the version script but not exported: {name}")
    print(f"{len(have)} symbols exported, {len(want)} listed")
    sys.exit(1 if extra or missing else 0)


if __name__ == "__main__":
    main()
