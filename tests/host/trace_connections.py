#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vdev-host records one trace per qemu-proxy connection of a device with "trace".

A small stand-in for QEMU speaks the multi-process protocol to vdev-host's socket:
guest RAM as memfds (SYNC_SYSMEM) and config reads. Checks: the first connection writes
FILE, later ones FILE.2 and FILE.3 and never touch FILE again; each trace declares every
guest-RAM region once, a region added by a later SYNC_SYSMEM included; the config reads
are in it with the values returned; a connection still open when vdev-host is stopped
gets a whole trace too. Usage: trace_connections.py VDEV_HOST"""
import array
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

CMD_SYNC_SYSMEM, CMD_RET, CMD_CFGREAD = 0, 1, 3
MIB = 1 << 20


class FakeQemu:
    def __init__(self, path):
        deadline = time.time() + 10
        while not os.path.exists(path):
            if time.time() > deadline:
                raise RuntimeError(f"{path} never appeared")
            time.sleep(0.05)
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.memfds = []

    def send(self, cmd, payload, fds=()):
        hdr = struct.pack("=iIQ", cmd, 0, len(payload))
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        self.s.sendmsg([hdr], anc)
        self.s.sendall(payload)

    def sysmem(self, regions):
        """regions: (gpa, size) pairs, each backed by a memfd of its own."""
        gpa, size, off, fds = [0] * 8, [0] * 8, [0] * 8, []
        for i, (g, n) in enumerate(regions):
            fd = os.memfd_create("ram")
            os.ftruncate(fd, n)
            self.memfds.append(fd)
            gpa[i], size[i] = g, n
            fds.append(fd)
        self.send(CMD_SYNC_SYSMEM, struct.pack("=8Q8Q8q", *gpa, *size, *off), fds)

    def cfg_read(self, addr, width):
        self.send(CMD_CFGREAD, struct.pack("=IIi", addr, 0, width))
        reply = b""
        while len(reply) < 24:
            chunk = self.s.recv(24 - len(reply))
            if not chunk:
                raise RuntimeError("vdev-host closed the connection")
            reply += chunk
        cmd, _, size, value = struct.unpack("=iIQQ", reply)
        if cmd != CMD_RET or size != 8:
            raise RuntimeError(f"unexpected reply {cmd} of {size} bytes")
        return value

    def close(self):
        self.s.close()
        for fd in self.memfds:
            os.close(fd)


def ram_record(gpa, size):
    return b"\x03" + struct.pack("<QQ", gpa, size)


def cfg_read_record(off, width, value):
    return b"\x10" + struct.pack("<IBIi", off, width, value, 0)


def wait_for(logfile, text, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(logfile, encoding="utf-8", errors="replace") as f:
            if text in f.read():
                return
        time.sleep(0.05)
    raise RuntimeError(f"vdev-host never logged {text!r}")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    host = sys.argv[1]
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    work = tempfile.mkdtemp(prefix="vdev-trace-host-")
    proc = None
    try:
        img = os.path.join(work, "disk.img")
        with open(img, "wb") as f:
            f.write(b"\0" * MIB)
        sock = os.path.join(work, "d.sock")
        trace = os.path.join(work, "disk0.trace")
        cfg = os.path.join(work, "cfg.json")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write('{"devices": [{"id": "disk0", "type": "blk", "path": "%s", '
                    '"connector": {"type": "qemu-proxy", "path": "%s"}, '
                    '"trace": {"path": "%s"}}]}' % (img, sock, trace))
        log = os.path.join(work, "host.log")
        with open(log, "w", encoding="utf-8") as logf:
            proc = subprocess.Popen([host, "--config", cfg], stdout=logf, stderr=logf)

        # Connection 1: one region, a config read, gone.
        q = FakeQemu(sock)
        q.sysmem([(0, MIB)])
        vendor = q.cfg_read(0, 2)
        q.close()
        wait_for(log, f"trace {trace}: ")
        with open(trace, "rb") as f:
            t1 = f.read()
        check(t1.startswith(b"VDEVTRCE\x01\x00\x00\x00"), "the first connection writes FILE")
        check(vendor == 0x1AF4 and cfg_read_record(0, 2, vendor) in t1,
              "the config read is recorded with the value returned")
        check(t1.count(ram_record(0, MIB)) == 1, "the guest RAM region is declared")
        first = digest(trace)

        # Connection 2: the table grows by a region between two SYNC_SYSMEMs.
        q = FakeQemu(sock)
        q.sysmem([(0, MIB)])
        q.cfg_read(0, 2)
        q.sysmem([(0, MIB), (4 * MIB, 2 * MIB)])
        q.cfg_read(2, 2)
        q.close()
        wait_for(log, f"trace {trace}.2: ")
        with open(trace + ".2", "rb") as f:
            t2 = f.read()
        check(t2.count(ram_record(0, MIB)) == 1 and t2.count(ram_record(4 * MIB, 2 * MIB)) == 1,
              "the second connection writes FILE.2, each region declared once")
        check(t2.index(ram_record(4 * MIB, 2 * MIB)) > t2.index(cfg_read_record(0, 2, vendor)),
              "a region added later is declared where it appeared")
        check(digest(trace) == first, "FILE is left as the first connection wrote it")

        # Connection 3 is still open when vdev-host stops: its trace is finished too.
        q = FakeQemu(sock)
        q.sysmem([(0, MIB)])
        q.cfg_read(0, 2)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=20)
        proc = None
        q.close()
        check(rc == 0, f"vdev-host stops cleanly (exit {rc})")
        with open(trace + ".3", "rb") as f:
            t3 = f.read()
        check(cfg_read_record(0, 2, vendor) in t3, "stopping vdev-host finishes an open trace")
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        if failures:
            with open(os.path.join(work, "host.log"), encoding="utf-8", errors="replace") as f:
                print("vdev-host log:\n" + f.read())
        shutil.rmtree(work)
    print(f"{len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
