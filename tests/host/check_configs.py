#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Feed every broken configuration in configs/ to `vdev-host --check-config` and
`vdev-host --config`, and check: exit status 1, the exact error line (which names the
JSON path and the reason), and that nothing was created or modified (the image file
keeps its bytes and times; no socket appears). Then check that a valid configuration
passes. Usage: check_configs.py VDEV_HOST CONFIG_DIR"""
import os
import shutil
import subprocess
import sys
import tempfile


def snapshot(d):
    return {n: (os.stat(os.path.join(d, n)).st_mtime_ns, os.path.getsize(os.path.join(d, n)))
            for n in sorted(os.listdir(d))}


def run(host, mode, cfg):
    return subprocess.run([host, mode, cfg], capture_output=True, text=True, timeout=20)


def main():
    host, cfgdir = sys.argv[1], sys.argv[2]
    passed = failed = 0
    with open(os.path.join(cfgdir, "expected.tsv"), encoding="utf-8") as f:
        cases = [l.rstrip("\n").split("\t", 1) for l in f if l.strip() and not l.startswith("#")]
    work = tempfile.mkdtemp(prefix="vdev-cfg-")
    try:
        img = os.path.join(work, "disk.img")
        with open(img, "wb") as f:
            f.write(b"\xa5" * 65536)
        for name, expect in cases:
            text = open(os.path.join(cfgdir, name), encoding="utf-8").read()
            text = text.replace("@DIR@", work).replace("@IMG@", img)
            expect = expect.replace("@DIR@", work).replace("@IMG@", img)
            cfg = os.path.join(work, "case.json")
            with open(cfg, "w", encoding="utf-8") as f:
                f.write(text)
            before = snapshot(work)
            problems = []
            for mode in ("--check-config", "--config"):
                r = run(host, mode, cfg)
                want = f"vdev-host: {cfg}: {expect}"
                if r.returncode != 1:
                    problems.append(f"{mode}: exit {r.returncode}, want 1")
                if want not in r.stderr.splitlines():
                    problems.append(f"{mode}: stderr {r.stderr.strip()!r}, want {want!r}")
            if snapshot(work) != before:
                problems.append("the directory changed (something was created or written)")
            with open(img, "rb") as f:
                if f.read() != b"\xa5" * 65536:
                    problems.append("the image file was modified")
            if problems:
                failed += 1
                print(f"FAIL {name}: " + "; ".join(problems))
            else:
                passed += 1
                print(f"ok   {name}: {expect}")
        # A valid configuration passes the check and lists its device.
        good = os.path.join(work, "good.json")
        with open(good, "w", encoding="utf-8") as f:
            f.write('{"devices": [{"id": "disk0", "type": "blk", "path": "%s", '
                    '"connector": {"type": "qemu-proxy", "path": "%s/d.sock"}}]}' % (img, work))
        r = run(host, "--check-config", good)
        if r.returncode == 0 and "disk0" in r.stdout:
            passed += 1
            print("ok   a valid configuration is accepted")
        else:
            failed += 1
            print(f"FAIL valid configuration: exit {r.returncode}: {r.stderr.strip()}")
        # A trace on a qemu-proxy device is accepted, and checking it creates nothing:
        # the file is written only when a guest connects.
        traced = os.path.join(work, "traced.json")
        trace_file = os.path.join(work, "disk0.trace")
        with open(traced, "w", encoding="utf-8") as f:
            f.write('{"devices": [{"id": "disk0", "type": "blk", "path": "%s", '
                    '"connector": {"type": "qemu-proxy", "path": "%s/d.sock"}, '
                    '"trace": {"path": "%s"}}]}' % (img, work, trace_file))
        before = snapshot(work)
        r = run(host, "--check-config", traced)
        if r.returncode == 0 and "disk0" in r.stdout and snapshot(work) == before:
            passed += 1
            print("ok   a configuration with a trace is accepted and creates nothing")
        else:
            failed += 1
            print(f"FAIL traced configuration: exit {r.returncode}: {r.stderr.strip()}; "
                  f"created: {sorted(set(snapshot(work)) - set(before))}")
    finally:
        shutil.rmtree(work)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or passed < 31 else 0)


if __name__ == "__main__":
    main()
