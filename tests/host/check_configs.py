#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Feed every broken configuration in configs/ to `vdev-host --check-config` and
`vdev-host --config`, and check: exit status 1, the exact error line (which names the
JSON path and the reason), and that nothing was created or modified (the image file
keeps its bytes and times; no socket appears). Then check that a valid configuration
passes, and the cases a file in configs/ cannot express (edge_cases below).
Usage: check_configs.py VDEV_HOST CONFIG_DIR"""
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


def device(ident, path, sock, extra=""):
    return ('{"id": "%s", "type": "blk", "path": "%s", %s"connector": '
            '{"type": "qemu-proxy", "path": "%s"}}' % (ident, path, extra, sock))


def edge_cases(host, work, img):
    """What a file in configs/ cannot say: how the configuration is given (a FIFO, a
    device, standard input, an oversized file), the folder relative paths resolve
    against, and what is accepted. Yields (passed, description)."""
    def fails_with(r, msg):
        return r.returncode == 1 and msg in r.stderr

    # A FIFO nobody writes to is refused at once rather than waited on.
    fifo = os.path.join(work, "fifo.json")
    os.mkfifo(fifo)
    try:
        r = run(host, "--check-config", fifo)
        yield fails_with(r, f"vdev-host: {fifo}: not a regular file; to read the configuration "
                            'from a pipe, give "-" and feed it to standard input'), \
            f"a FIFO as the configuration is refused without waiting: {r.stderr.strip()}"
    finally:
        os.unlink(fifo)
    r = run(host, "--check-config", "/dev/zero")
    yield fails_with(r, "vdev-host: /dev/zero: not a regular file"), \
        f"a device as the configuration is refused: {r.stderr.strip()}"

    # "-" reads standard input; relative paths there are relative to the working directory.
    good = '{"devices": [%s]}' % device("disk0", "disk.img", "d.sock")
    r = subprocess.run([host, "--check-config", "-"], input=good, capture_output=True,
                       text=True, timeout=20, cwd=work)
    yield r.returncode == 0 and "disk0" in r.stdout and " d.sock" in r.stdout, \
        f"'-' reads the configuration from standard input: exit {r.returncode} {r.stderr.strip()}"
    r = subprocess.run([host, "--check-config", "-"], input='{"devices": 1}',
                       capture_output=True, text=True, timeout=20)
    yield fails_with(r, "vdev-host: -: devices: must be an array, not an integer"), \
        f"an invalid configuration on standard input is reported: {r.stderr.strip()}"

    # The size limit is 1 MiB, and the error says so (a file, and standard input).
    big = os.path.join(work, "big.json")
    with open(big, "w", encoding="utf-8") as f:
        f.write(good + " " * (1 << 20))
    limit = "larger than 1048576 bytes (1 MiB), the limit for a configuration"
    r = run(host, "--check-config", big)
    yield fails_with(r, f"vdev-host: {big}: {limit}"), f"a 1 MiB+ file is refused: {r.stderr.strip()}"
    r = subprocess.run([host, "--check-config", "-"], input=good + " " * (1 << 20),
                       capture_output=True, text=True, timeout=20)
    yield fails_with(r, f"vdev-host: -: {limit}"), \
        f"1 MiB+ on standard input is refused: {r.stderr.strip()}"
    os.unlink(big)

    # Relative paths resolve against the configuration's folder, not the working directory.
    sub = os.path.join(work, "sub")
    os.mkdir(sub)
    with open(os.path.join(sub, "disk.img"), "wb") as f:
        f.write(b"\0" * 4096)
    with open(os.path.join(sub, "rel.json"), "w", encoding="utf-8") as f:
        f.write('{"devices": [%s]}' % device("disk0", "disk.img", "d.sock",
                                              '"trace": {"path": "t.bin"}, '))
    r = subprocess.run([host, "--check-config", "sub/rel.json"], capture_output=True,
                       text=True, timeout=20, cwd=work)
    yield r.returncode == 0 and " sub/d.sock" in r.stdout, \
        f"relative paths are relative to the configuration's folder: {r.stdout.strip()!r} " \
        f"{r.stderr.strip()}"
    shutil.rmtree(sub)

    # Two read-only devices may share an image (a common base image).
    shared = os.path.join(work, "shared.json")
    with open(shared, "w", encoding="utf-8") as f:
        f.write('{"devices": [%s, %s]}' % (
            device("disk0", img, work + "/d0.sock", '"readonly": true, '),
            device("disk1", img, work + "/d1.sock", '"readonly": true, ')))
    r = run(host, "--check-config", shared)
    yield r.returncode == 0 and "disk1" in r.stdout, \
        f"two read-only devices may share an image: {r.stderr.strip()}"
    os.unlink(shared)


def main():
    host, cfgdir = os.path.abspath(sys.argv[1]), sys.argv[2]
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
        for ok, what in edge_cases(host, work, img):
            passed, failed = passed + ok, failed + (not ok)
            print(("ok   " if ok else "FAIL ") + what)
    finally:
        shutil.rmtree(work)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or passed < 31 else 0)


if __name__ == "__main__":
    main()
