#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A man page is well-formed and documents every option its program's --help prints.

    check_man.py PAGE PROGRAM [SUBCOMMAND...]

groff formats PAGE with every warning enabled (-ww); any warning fails. The options are
the long options (--name) in the output of `PROGRAM --help` and, for each SUBCOMMAND,
of `PROGRAM SUBCOMMAND --help`: each must appear in the page's source, where roff spells
a dash as "\\-". Exit 77 (skipped) when groff is not installed.
"""
import re
import shutil
import subprocess
import sys


def help_options(argv):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {out.returncode}")
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", out.stdout))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    page, prog, subs = sys.argv[1], sys.argv[2], sys.argv[3:]
    groff = shutil.which("groff")
    if groff is None:
        print("groff not found: install groff-base (scripts/install-deps)")
        return 77

    bad = 0
    fmt = subprocess.run([groff, "-man", "-ww", "-z", page], capture_output=True, text=True)
    if fmt.returncode != 0 or fmt.stderr.strip():
        print(f"{page}: groff -man -ww reports:\n{fmt.stderr}", end="")
        bad = 1

    options = help_options([prog, "--help"])
    for sub in subs:
        options |= help_options([prog, sub, "--help"])
    if not options:
        sys.exit(f"{prog} --help lists no options: the check would prove nothing")
    with open(page, encoding="utf-8") as f:
        text = f.read().replace("\\-", "-")
    for opt in sorted(options):
        if not re.search(re.escape(opt) + r"(?![\w-])", text):
            print(f"{page}: does not mention {opt} (from {prog} --help)")
            bad = 1
    if not bad:
        print(f"{page}: well-formed, documents {len(options)} options: "
              + " ".join(sorted(options)))
    return bad


if __name__ == "__main__":
    sys.exit(main())
