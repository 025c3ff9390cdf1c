#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the hand-made seed traces of the trace fuzz targets.

Each seed is a small guest session in the text form of docs/trace-format.md: the driver
brings the device up through the legacy or the modern interface, sets up its queues in
guest RAM and makes a few requests, with the backend results and completions a real
run would have produced. The text goes to fuzz/trace-seeds/NAME.trace (readable, and
what `vdev-trace print` of the corpus file shows), and its binary form, made by
`vdev-trace convert`, to fuzz/corpus/trace_<device>_<mode>/NAME for every target it
fits: legacy sessions for the legacy and transitional functions, modern ones for the
modern, transitional and cfg-access targets.

Usage: fuzz/make_trace_seeds.py [VDEV_TRACE]  (default: build/tools/vdev-trace/vdev-trace)
Rerun after changing the trace format or a seed."""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

QSIZE = 16              # every seed asks for small queues (the queue_size parameter)
RING_BASE = 0x10000     # queue q's rings at RING_BASE + q * 0x4000 (page-aligned: legacy PFN)
BUF_BASE = 0x100000     # request buffers
RAM_SIZE = 0x400000

DESC_NEXT, DESC_WRITE, DESC_INDIRECT = 1, 2, 4
F_INDIRECT, F_EVENT_IDX, F_VERSION_1 = 1 << 28, 1 << 29, 1 << 32

# Legacy header (BAR 0) and modern common configuration (BAR 4) offsets.
L_GUEST_FEATURES, L_PFN, L_QNUM, L_QSEL, L_QNOTIFY, L_STATUS, L_ISR, L_CONFIG = \
    4, 8, 12, 14, 16, 18, 19, 20
M_DFSELECT, M_DF, M_GFSELECT, M_GF, M_NUMQ, M_STATUS, M_QSEL, M_QSIZE, M_QENABLE = \
    0, 4, 8, 12, 18, 20, 22, 24, 28
M_QDESC, M_QAVAIL, M_QUSED = 32, 40, 48
M_ISR, M_DEVICE, M_NOTIFY, M_NOTIFY_MULT = 0x1000, 0x2000, 0x3000, 4


def ring_addrs(q):
    """desc, avail, used of queue q: the legacy layout for QSIZE, which modern accepts."""
    desc = RING_BASE + q * 0x4000
    avail = desc + 16 * QSIZE
    used = (avail + 6 + 2 * QSIZE + 0xfff) & ~0xfff
    return desc, avail, used


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


class Session:
    """One seed: a device, a driver interface, and the records in text form."""

    def __init__(self, name, device, iface, params, comment):
        self.name, self.device, self.iface = name, device, iface
        self.lines = ["vdev-trace 1", f"# {comment}",
                      f"# Made by fuzz/make_trace_seeds.py ({iface} driver)."]
        self.rec("device", type=device, mode=iface, flags="none")
        for k, v in sorted(dict(params, queue_size=QSIZE).items()):
            self.rec("param", key=k, value=hex(v))
        self.rec("ram", addr="0x0", size=hex(RAM_SIZE))
        self.avail_idx = {}
        self.next_desc = {}
        self.next_buf = BUF_BASE

    def rec(self, record, **fields):
        parts = [record] + [f"{k}={v}" for k, v in fields.items() if v != ""]
        self.lines.append(" ".join(parts))

    def note(self, text):
        self.lines.append(f"# {text}")

    # -- what the guest does --

    def mem(self, addr, data):
        self.rec("mem", addr=hex(addr), data=data.hex())

    def reg_write(self, off, width, value):
        bar = 0 if self.iface == "legacy" else 4
        self.rec("bar-write", bar=bar, off=hex(off), width=width, value=hex(value))

    def reg_read(self, off, width):
        bar = 0 if self.iface == "legacy" else 4
        self.rec("bar-read", bar=bar, off=hex(off), width=width, value="0x0")

    def status(self, s):
        self.reg_write(L_STATUS if self.iface == "legacy" else M_STATUS, 1, s)

    def config_read(self, off, width):
        self.reg_read((L_CONFIG if self.iface == "legacy" else M_DEVICE) + off, width)

    def bring_up(self, features, nqueues):
        """Reset, negotiate `features`, set up queues 0..nqueues-1, DRIVER_OK."""
        self.note("PCI command: I/O, memory, bus master")
        self.rec("cfg-write", off="0x4", width=2, value="0x7", result=0)
        self.status(0)
        self.status(1)
        self.status(3)
        if self.iface == "legacy":
            self.reg_read(0, 4)
            self.reg_write(L_GUEST_FEATURES, 4, features & 0xffffffff)
        else:
            features |= F_VERSION_1
            for half in (0, 1):
                self.reg_write(M_DFSELECT, 4, half)
                self.reg_read(M_DF, 4)
                self.reg_write(M_GFSELECT, 4, half)
                self.reg_write(M_GF, 4, (features >> (32 * half)) & 0xffffffff)
            self.status(0xb)
            self.reg_read(M_STATUS, 1)
            self.reg_read(M_NUMQ, 2)
        for q in range(nqueues):
            d, a, u = ring_addrs(q)
            self.avail_idx[q] = 0
            self.next_desc[q] = 0
            if self.iface == "legacy":
                self.reg_write(L_QSEL, 2, q)
                self.reg_read(L_QNUM, 2)
                self.reg_write(L_PFN, 4, d >> 12)
            else:
                self.reg_write(M_QSEL, 2, q)
                self.reg_read(M_QSIZE, 2)
                self.reg_write(M_QSIZE, 2, QSIZE)
                for off, addr in ((M_QDESC, d), (M_QAVAIL, a), (M_QUSED, u)):
                    self.reg_write(off, 4, addr & 0xffffffff)
                    self.reg_write(off + 4, 4, addr >> 32)
                self.reg_write(M_QENABLE, 2, 1)
        self.status(0xf if self.iface != "legacy" else 7)

    def buffer(self, data=b"", size=None):
        """Guest RAM for one buffer (its bytes written by a MEM record)."""
        addr = self.next_buf
        size = max(size or len(data), 1)
        self.next_buf += (size + 0xff) & ~0xff
        if data:
            self.mem(addr, data)
        return addr

    def post(self, q, segs, indirect=False):
        """Make a chain of (addr, len, writable) available on queue q; returns the head."""
        d, a, _ = ring_addrs(q)
        head = self.next_desc[q]
        if indirect:
            table = b"".join(desc(addr, ln, (DESC_WRITE if w else 0) |
                                  (DESC_NEXT if i + 1 < len(segs) else 0), i + 1)
                             for i, (addr, ln, w) in enumerate(segs))
            taddr = self.buffer(table)
            self.mem(d + 16 * head, desc(taddr, len(table), DESC_INDIRECT))
            self.next_desc[q] += 1
        else:
            chain = b""
            for i, (addr, ln, w) in enumerate(segs):
                last = i + 1 == len(segs)
                chain += desc(addr, ln, (DESC_WRITE if w else 0) | (0 if last else DESC_NEXT),
                              0 if last else head + i + 1)
            self.mem(d + 16 * head, chain)
            self.next_desc[q] += len(segs)
        assert self.next_desc[q] <= QSIZE, "a seed must not wrap its descriptor table"
        slot = self.avail_idx[q] % QSIZE
        self.avail_idx[q] += 1
        self.mem(a + 4 + 2 * slot, struct.pack("<H", head))
        self.mem(a, struct.pack("<HH", 0, self.avail_idx[q]))
        return head

    def kick(self, q):
        if self.iface == "legacy":
            self.reg_write(L_QNOTIFY, 2, q)
        else:
            self.rec("bar-write", bar=4, off=hex(M_NOTIFY + M_NOTIFY_MULT * q), width=2,
                     value=hex(q))

    def isr(self):
        self.reg_read(L_ISR if self.iface == "legacy" else M_ISR, 1)

    def text(self):
        return "\n".join(self.lines) + "\n"


# ---------------- the sessions ----------------

BLK_IN, BLK_OUT, BLK_FLUSH, BLK_GET_ID, BLK_DISCARD, BLK_WZ = 0, 1, 4, 8, 11, 13
BLK_FEATURES = (1 << 2) | (1 << 6) | (1 << 9) | (1 << 13) | (1 << 14)  # SEG_MAX BLK_SIZE FLUSH DISCARD WZ


def blk_request(s, rtype, sector, data=b"", read_len=0, indirect=False):
    hdr = s.buffer(struct.pack("<IIQ", rtype, 0, sector))
    segs = [(hdr, 16, False)]
    if data:
        segs.append((s.buffer(data), len(data), False))
    if read_len:
        segs.append((s.buffer(size=read_len), read_len, True))
    segs.append((s.buffer(size=1), 1, True))
    return s.post(0, segs, indirect)


def blk_sessions(iface):
    s = Session(f"blk-{iface}-rw", "blk", iface, {"capacity": 2048},
                "virtio-blk: read, write, flush and GET_ID, completed in order")
    s.bring_up(BLK_FEATURES, 1)
    s.config_read(0, 8)
    heads = [blk_request(s, BLK_IN, 0, read_len=512),
             blk_request(s, BLK_OUT, 8, data=b"\xa5" * 512),
             blk_request(s, BLK_FLUSH, 0),
             blk_request(s, BLK_GET_ID, 0, read_len=20)]
    s.kick(0)
    for h in heads[:3]:
        s.rec("complete", queue=0, head=h, result=0)
    s.rec("poll")
    s.isr()
    yield s

    s = Session(f"blk-{iface}-indirect-errors", "blk", iface, {"capacity": 64},
                "virtio-blk: an indirect read, a write past the end, a failing backend, "
                "discard, a translation fault, and a reset with a request in flight")
    s.bring_up(BLK_FEATURES | F_INDIRECT | F_EVENT_IDX, 1)
    h = blk_request(s, BLK_IN, 1, read_len=1024, indirect=True)
    s.kick(0)
    s.rec("complete", queue=0, head=h, result=0)
    s.rec("poll")
    blk_request(s, BLK_OUT, 4096, data=b"\x00" * 512)
    h = blk_request(s, BLK_IN, 2, read_len=512)
    s.kick(0)
    s.rec("complete", queue=0, head=h, result=-5)
    s.rec("poll")
    h = blk_request(s, BLK_DISCARD, 0, data=struct.pack("<QII", 0, 8, 0))
    s.rec("fault", kind="fail", skip=1, limit="0x0")
    blk_request(s, BLK_IN, 3, read_len=512)
    s.kick(0)
    s.rec("host", op="blk-resize", a=hex(128 * 512), b="0x0")
    s.isr()
    s.rec("reset")
    s.rec("poll")
    yield s


NET_FEATURES = (1 << 5) | (1 << 16)  # MAC, STATUS
NET_CTRL = 1 << 17


def net_hdr_image(flags=0, gso=0, hdr_len=0, gso_size=0, csum_start=0, csum_off=0):
    return struct.pack("<BBHHHH", flags, gso, hdr_len, gso_size, csum_start, csum_off)


def frame(payload):
    return b"\xff" * 6 + b"\x52\x54\x00\x12\x34\x56" + b"\x08\x00" + payload


def net_sessions(iface):
    hdr_len = 12 if iface != "legacy" else 10
    s = Session(f"net-{iface}-txrx", "net", iface, {"mac": 0x525400123456},
                "virtio-net: two frames sent, one refused, two received into posted buffers")
    s.bring_up(NET_FEATURES, 2)
    s.config_read(0, 4)
    s.config_read(6, 2)
    for _ in range(2):
        s.post(0, [(s.buffer(size=1526), 1526, True)])
    s.kick(0)
    for i in range(3):
        pkt = b"\x00" * hdr_len + frame(bytes([i]) * 46)
        s.post(1, [(s.buffer(pkt[:hdr_len]), hdr_len, False),
                   (s.buffer(pkt[hdr_len:]), len(pkt) - hdr_len, False)])
    s.rec("backend", op="net-send", queue=0, result=0, data="")
    s.rec("backend", op="net-send", queue=0, result=0, data="")
    s.rec("backend", op="net-send", queue=0, result=-105, data="")
    s.kick(1)
    for i in range(2):
        f = frame(bytes([0x40 + i]) * 60)
        s.rec("backend", op="net-recv", queue=0, result=len(f),
              data=(net_hdr_image() + f).hex())
    s.rec("poll")
    s.isr()
    s.rec("host", op="net-link", a="0x0", b="0x0")
    s.config_read(6, 2)
    yield s

    s = Session(f"net-{iface}-ctrl", "net", iface, {"mac": 0x525400123456, "ctrl_vq": 1},
                "virtio-net: control queue commands (promiscuous mode, MAC table, "
                "a truncated one), then a reset")
    s.bring_up(NET_FEATURES | NET_CTRL | (1 << 18) | (1 << 23), 3)
    for cls, cmd, body in ((0, 0, b"\x01"),                    # RX_MODE PROMISC on
                           (1, 0, struct.pack("<I", 1) + b"\x52\x54\x00\x00\x00\x01" +
                            struct.pack("<I", 0)),            # MAC_TABLE_SET
                           (1, 1, b"\x52\x54\x00\xab\xcd\xef"),  # MAC_ADDR_SET
                           (1, 0, struct.pack("<I", 1000))):  # MAC table count past the payload
        s.post(2, [(s.buffer(bytes([cls, cmd])), 2, False),
                   (s.buffer(body), len(body), False),
                   (s.buffer(size=1), 1, True)])
    s.kick(2)
    s.isr()
    s.rec("reset")
    yield s


# Port flags of the console's "p<N>" parameters: present, console, open on the host
# side, and a backend with read, write and poll_fd.
CON_PORT_ALL, CON_PORT_HOST_OPEN = 0x3f, 0x04


def console_sessions(iface):
    s = Session(f"console-{iface}-io", "console", iface, {"cols": 80, "rows": 25, "size": 1, "p0": CON_PORT_ALL},
                "virtio-console: output accepted in two parts, input into a posted buffer, "
                "a resize")
    s.bring_up(1 << 0, 2)  # SIZE
    s.config_read(0, 4)
    s.post(0, [(s.buffer(size=64), 64, True)])
    s.kick(0)
    s.post(1, [(s.buffer(b"hello, console\n"), 15, False)])
    s.rec("backend", op="con-write", queue=0, result=6, data="")
    s.rec("backend", op="con-write", queue=0, result=9, data="")
    s.kick(1)
    s.rec("backend", op="con-read", queue=0, result=3, data=b"ls\n".hex())
    s.rec("poll")
    s.rec("host", op="con-resize", a="0x0", b=hex(132 << 16 | 43))
    s.isr()
    yield s

    s = Session(f"console-{iface}-multiport", "console", iface,
                {"multiport": 1, "max_nr_ports": 2, "p0": CON_PORT_ALL,
                 "p1": CON_PORT_ALL & ~CON_PORT_HOST_OPEN},
                "virtio-console: MULTIPORT: DEVICE_READY, PORT_READY, PORT_OPEN on the "
                "control queue, a port opened by the host, data on port 1")
    s.bring_up(1 << 1, 6)  # MULTIPORT: rx0 tx0 c_ivq c_ovq rx1 tx1
    s.config_read(4, 4)
    for _ in range(8):
        s.post(2, [(s.buffer(size=16), 16, True)])
    s.kick(2)
    # DEVICE_READY first: the device then announces its ports (DEVICE_ADD), and only
    # an announced port takes PORT_READY/PORT_OPEN.
    for batch in (((0, 0, 1),), ((0, 3, 1), (1, 3, 1), (1, 6, 1), (7, 3, 1))):
        for port, event, value in batch:
            s.post(3, [(s.buffer(struct.pack("<IHH", port, event, value)), 8, False)])
        s.kick(3)
    s.rec("host", op="con-open", a="0x1", b="0x1")
    s.post(5, [(s.buffer(b"port one"), 8, False)])
    s.rec("backend", op="con-write", queue=1, result=8, data="")
    s.kick(5)
    s.isr()
    yield s


def rng_sessions(iface):
    s = Session(f"rng-{iface}-requests", "rng", iface, {"max_request_bytes": 64},
                "virtio-rng: three requests, one larger than the cap, one failing read")
    s.bring_up(0, 1)
    for size in (16, 256):
        s.post(0, [(s.buffer(size=size), size, True)])
    s.rec("backend", op="rng-read", queue=0, result=16, data="")
    s.rec("backend", op="rng-read", queue=0, result=64, data="")
    s.kick(0)
    s.post(0, [(s.buffer(size=32), 32, True)])
    s.rec("backend", op="rng-read", queue=0, result=-5, data="")
    s.kick(0)
    s.rec("poll")
    s.isr()
    yield s

    s = Session(f"rng-{iface}-rate", "rng", iface, {"rate": 1024, "burst": 64},
                "virtio-rng: a rate limit: requests wait for the clock, then a reset")
    s.bring_up(F_EVENT_IDX, 1)
    s.rec("time", ns=1000000000)
    for _ in range(3):
        s.post(0, [(s.buffer(size=64), 64, True)])
    s.rec("backend", op="rng-read", queue=0, result=64, data="")
    s.kick(0)
    s.rec("time", ns=1100000000)
    s.rec("backend", op="rng-read", queue=0, result=64, data="")
    s.rec("poll")
    s.rec("time", ns=3000000000)
    s.rec("backend", op="rng-read", queue=0, result=64, data="")
    s.rec("poll")
    s.rec("reset")
    yield s


MAKERS = {"blk": blk_sessions, "net": net_sessions, "console": console_sessions,
          "rng": rng_sessions}
TARGET_MODES = {"legacy": ["legacy", "transitional"],
                "modern": ["modern", "transitional", "cfgaccess"]}


def main():
    tool = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(ROOT, "build", "tools", "vdev-trace", "vdev-trace")
    text_dir = os.path.join(HERE, "trace-seeds")
    os.makedirs(text_dir, exist_ok=True)
    count = 0
    with tempfile.TemporaryDirectory() as tmp:
        for device, make in MAKERS.items():
            for iface in ("legacy", "modern"):
                for s in make(iface):
                    src = os.path.join(text_dir, s.name + ".trace")
                    with open(src, "w", encoding="utf-8") as f:
                        f.write(s.text())
                    out = os.path.join(tmp, s.name)
                    subprocess.run([tool, "convert", src, out, "--to", "binary"], check=True)
                    with open(out, "rb") as f:
                        binary = f.read()
                    for mode in TARGET_MODES[iface]:
                        d = os.path.join(HERE, "corpus", f"trace_{device}_{mode}")
                        os.makedirs(d, exist_ok=True)
                        with open(os.path.join(d, s.name), "wb") as f:
                            f.write(binary)
                    count += 1
    print(f"{count} seed traces written")


if __name__ == "__main__":
    main()
