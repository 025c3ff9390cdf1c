#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Keep the layers of src/ pointing down (README.md, "Layout").

Every folder of src/ has a rank; a file may include, or call, only what lives in its
own folder or in a folder of a lower rank. Two checks, each of which fails on an
upward edge or on an edge between two folders of the same rank:

  includes  every '#include "<folder>/..."' in src/**/*.{c,h}
  calls     every undefined symbol of an object in the given static archives that
            another object of those archives defines (nm), so a call that needs no
            include (a prototype written by hand, a macro) is caught too.

Usage: check_layers.py SRC_DIR [ARCHIVE ...]. Prints each violation, then
"N passed, N failed" (one case per check), and exits non-zero on any violation.
"""
import os
import re
import subprocess
import sys

# Bottom first. Folders of one rank must not reach each other.
RANKS = {
    "util": 0,       # header-only helpers: byte order, VDEV_EXPORT
    "trace": 1,      # the recorder: hooks that observe everything above
    "core": 2,       # virtio_base, status/features, virtqueues, guest memory
    "transport": 3,  # virtio-pci, vhost: register models
    "devices": 4,    # blk, net, console, rng, ...
    "replay": 5,     # libvdev-replay: rebuilds devices from traces
    "driver": 5,     # libvdev-driver: the guest-side driver peer
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"', re.M)


def allowed(src, dst):
    return src == dst or RANKS[dst] < RANKS[src]


def check_includes(src_dir):
    bad = []
    unknown = []
    for root, _, files in os.walk(src_dir):
        rel = os.path.relpath(root, src_dir)
        folder = rel.split(os.sep)[0]
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            if folder not in RANKS:
                unknown.append(os.path.join(rel, name))
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for m in INCLUDE.finditer(text):
                dst = m.group(1)
                if dst not in RANKS:
                    continue  # vdev/ (public headers) and build-generated headers
                if not allowed(folder, dst):
                    line = text.count("\n", 0, m.start()) + 1
                    bad.append(f"{os.path.join(rel, name)}:{line}: {folder} includes "
                               f"{dst} ({m.group(0).strip()})")
    for u in unknown:
        bad.append(f"{u}: src/{u.split(os.sep)[0]} has no rank in check_layers.py")
    return bad


def folder_of_object(obj):
    # Meson names an archive's objects after their source path: src_core_vmctx.c.o.
    m = re.match(r"src_([a-z]+)_", obj)
    return m.group(1) if m and m.group(1) in RANKS else None


def check_calls(archives):
    defined = {}
    needs = []
    for archive in archives:
        out = subprocess.run(["nm", "-A", archive], check=True, capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            # archive:object:[value] type name
            parts = line.split(":", 2)
            if len(parts) < 3:
                continue
            obj = parts[1]
            fields = parts[2].split()
            if len(fields) < 2:
                continue
            kind, sym = fields[-2], fields[-1]
            folder = folder_of_object(obj)
            if folder is None:
                continue
            if kind == "U":
                needs.append((folder, obj, sym))
            elif kind in "TDBRtdbrWV" and kind.isupper():
                defined.setdefault(sym, (folder, obj))
    bad = []
    for folder, obj, sym in needs:
        if sym not in defined:
            continue  # libc, pthread, ...
        dst, where = defined[sym]
        if not allowed(folder, dst):
            bad.append(f"{obj} ({folder}) calls {sym}, defined in {where} ({dst})")
    return sorted(set(bad))


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    src_dir = sys.argv[1]
    failed = passed = 0
    for name, bad in (("includes", check_includes(src_dir)),
                      ("calls", check_calls(sys.argv[2:]) if sys.argv[2:] else None)):
        if bad is None:
            continue
        for b in bad:
            print(f"layering ({name}): {b}")
        if bad:
            failed += 1
        else:
            passed += 1
            print(f"layering ({name}): every edge points down")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
