#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Count test cases across meson build dirs: Criterion executables report their own
cases ("Synthesis: Tested: N | Passing: N | Failing: N | Crashing: N"), script-driven
suites end with "N passed, N failed"; any other meson test counts as one. Prints "<dir>: N passed, N failed" per build and a final
"N passed, N failed" line; exits non-zero on any failure or when nothing ran."""
import json
import re
import sys

SYNTH = re.compile(r"Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
PLAIN = re.compile(r"^(\d+) passed, (\d+) failed$", re.M)


def count(build_dir):
    passed = failed = 0
    failures = []
    with open(f"{build_dir}/meson-logs/testlog.json", encoding="utf-8") as log:
        for line in log:
            t = json.loads(line)
            out = (t.get("stdout") or "") + (t.get("stderr") or "")
            m = SYNTH.findall(out)
            ok = t["result"] == "OK"
            if m:
                tested, passing, failing, crashing = map(int, m[-1])
                passed += passing
                failed += failing + crashing + max(0, tested - passing - failing - crashing)
                if not ok and failing + crashing == 0:
                    failed += 1  # the executable itself failed (e.g. a sanitizer report)
            elif PLAIN.findall(out):
                # Script-driven suites (configs, guests) print their own closing line.
                p, f = map(int, PLAIN.findall(out)[-1])
                passed += p
                failed += f + (1 if not ok and f == 0 else 0)
            else:
                passed += ok
                failed += not ok
            if not ok:
                failures.append(t["name"])
    return passed, failed, failures


def main():
    total_p = total_f = 0
    for d in sys.argv[1:]:
        p, f, names = count(d)
        print(f"{d}: {p} passed, {f} failed" + (f" ({', '.join(names)})" if names else ""))
        total_p += p
        total_f += f
    print(f"{total_p} passed, {total_f} failed")
    sys.exit(0 if total_f == 0 and total_p > 0 else 1)


if __name__ == "__main__":
    main()
