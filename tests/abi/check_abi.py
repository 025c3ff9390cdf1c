#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Compare the ABI of built shared libraries with the baselines checked in beside
this script, with libabigail (abidw, abidiff; Debian's abigail-tools). Any change
fails, compatible or not: an intended change means regenerating the baselines with
scripts/abi-baseline and committing them with the change, so it is seen in review.

Only types reachable from include/vdev/ count (--headers-dir, --drop-private-types),
and the output carries no source locations or build paths, so moving code or building
elsewhere changes nothing.

Usage: check_abi.py [--write] ABIDW ABIDIFF HEADERS_DIR LIB.so BASELINE.abi [...]
  --write   write each library's ABI to its baseline instead of comparing."""
import os
import subprocess
import sys
import tempfile

ABIDW_OPTS = ["--drop-private-types", "--no-show-locs", "--no-corpus-path",
              "--no-comp-dir-path", "--no-elf-needed", "--type-id-style", "hash"]

# abidiff's exit status is a bit mask (libabigail's abidiff manual).
ABIDIFF_ERROR, ABIDIFF_USAGE_ERROR = 1, 2


def dump(abidw, headers, lib, out):
    subprocess.run([abidw, "--headers-dir", headers, *ABIDW_OPTS, "--out-file", out, lib],
                   check=True)


def compare(abidiff, baseline, current, lib):
    r = subprocess.run([abidiff, "--no-show-locs", baseline, current],
                       capture_output=True, text=True)
    if r.returncode == 0:
        print(f"{os.path.basename(lib)}: ABI matches {os.path.basename(baseline)}")
        return True
    sys.stdout.write(r.stdout + r.stderr)
    if r.returncode & (ABIDIFF_ERROR | ABIDIFF_USAGE_ERROR):
        print(f"{lib}: abidiff failed (status {r.returncode})")
    else:
        print(f"{os.path.basename(lib)}: the ABI differs from its baseline, "
              f"tests/abi/{os.path.basename(baseline)}.\n"
              "If the change is intended, run scripts/abi-baseline and commit the "
              "updated tests/abi/*.abi with it.")
    return False


def main():
    args = sys.argv[1:]
    write = bool(args) and args[0] == "--write"
    if write:
        args = args[1:]
    if len(args) < 5 or (len(args) - 3) % 2:
        sys.exit(__doc__)
    abidw, abidiff, headers = args[:3]
    pairs = [(args[i], args[i + 1]) for i in range(3, len(args), 2)]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for lib, baseline in pairs:
            if write:
                dump(abidw, headers, lib, baseline)
                print(f"wrote {baseline}")
                continue
            if not os.path.exists(baseline):
                print(f"{baseline}: missing; run scripts/abi-baseline")
                ok = False
                continue
            current = os.path.join(tmp, os.path.basename(baseline))
            dump(abidw, headers, lib, current)
            ok &= compare(abidiff, baseline, current, lib)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
