#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Write the hand-made seed inputs for the fuzz targets into fuzz/corpus/. The seeds
are well-formed guest programs (a full set-up and a request) that the fuzzer mutates;
rerun after changing an input format."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ALL_ONES = b"\xff" * 8
NEXT, WRITE, INDIRECT = 1, 2, 4


def desc(addr, length, flags, nxt):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def vq_seed(mode, descs, heads, ops):
    table = b"".join(descs).ljust(16 * 16, b"\0")
    avail = struct.pack("<HH", 0, len(heads)) + b"".join(struct.pack("<H", h) for h in heads)
    avail = avail.ljust(6 + 2 * 16, b"\0")
    return bytes([mode]) + ALL_ONES + table + avail + ops


GET = bytes([0, 8])
REL = bytes([2, 0]) + struct.pack("<HI", 0, 64)
END = bytes([4, 0, 1])

virtqueue = {
    "two_desc_chain": vq_seed(0, [desc(0x80000, 64, NEXT, 1), desc(0x81000, 64, WRITE, 0)],
                              [0], GET + REL + END),
    "indirect": vq_seed(0, [desc(0x82000, 32, INDIRECT, 0)], [0], GET + REL + END),
    "legacy_three": vq_seed(1, [desc(0x80000, 16, NEXT, 1), desc(0x81000, 512, NEXT, 2),
                                desc(0x83000, 1, WRITE, 0)], [0], GET + REL + END),
    "self_loop": vq_seed(0, [desc(0x80000, 16, NEXT, 0)], [0], GET + END),
}


def op(kind, width, bar, off, val):
    w = {1: 0, 2: 1, 4: 2, 8: 3}[width]
    return struct.pack("<BBBBIQ", kind, w, bar, 0, off, val)


CFG_W, BAR_R, BAR_W, RAM_W = 1, 2, 3, 4


def ram(addr, data):
    data = data.ljust((len(data) + 7) // 8 * 8, b"\0")
    return b"".join(op(RAM_W, 8, 0, addr + i, struct.unpack("<Q", data[i:i + 8])[0])
                    for i in range(0, len(data), 8))


def request_in_ram(desc_addr, avail_addr):
    return (ram(desc_addr, desc(0x20000, 16, NEXT, 1) + desc(0x21000, 16, WRITE, 0)) +
            ram(avail_addr, struct.pack("<HHHH", 0, 1, 0, 0)))


FEATURES = 0x30000001  # ECHO_F_TEST | INDIRECT_DESC | EVENT_IDX
modern = (op(CFG_W, 2, 0, 4, 0x7) +
          b"".join(op(BAR_W, 1, 4, 20, s) for s in (0, 1, 3)) +
          op(BAR_W, 4, 4, 8, 0) + op(BAR_W, 4, 4, 12, FEATURES) +
          op(BAR_W, 4, 4, 8, 1) + op(BAR_W, 4, 4, 12, 1) +
          op(BAR_W, 1, 4, 20, 0xb) +
          op(BAR_W, 2, 4, 22, 0) + op(BAR_W, 2, 4, 24, 16) +
          op(BAR_W, 4, 4, 32, 0x10000) + op(BAR_W, 4, 4, 40, 0x11000) +
          op(BAR_W, 4, 4, 48, 0x12000) + op(BAR_W, 2, 4, 28, 1) +
          op(BAR_W, 1, 4, 20, 0xf) +
          request_in_ram(0x10000, 0x11000) +
          op(BAR_W, 2, 4, 0x3000, 0) + op(BAR_R, 1, 4, 0x1000, 0))
legacy = (b"".join(op(BAR_W, 1, 0, 18, s) for s in (0, 1, 3)) +
          op(BAR_W, 4, 0, 4, FEATURES) + op(BAR_W, 2, 0, 14, 0) +
          op(BAR_W, 4, 0, 8, 0x10) + op(BAR_W, 1, 0, 18, 7) +
          request_in_ram(0x10000, 0x10100) +
          op(BAR_W, 2, 0, 16, 0) + op(BAR_R, 1, 0, 19, 0))

registers = {
    "modern_setup_and_request": bytes([1 | 0x04]) + modern,
    "legacy_setup_and_request": bytes([0]) + legacy,
    "transitional_legacy_driver": bytes([2]) + legacy,
}

for target, seeds in (("virtqueue", virtqueue), ("registers", registers)):
    os.makedirs(os.path.join(HERE, "corpus", target), exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(HERE, "corpus", target, name), "wb") as f:
            f.write(data)
print("seeds written")
