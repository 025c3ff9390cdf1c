#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Read 64 bytes from /dev/hwrng; they must come from virtio_rng and not be all
# zeroes.
set -eu
. /vdev/lib.sh

hw=/sys/class/misc/hw_random
[ -e "$hw/rng_current" ] || fail "no $hw/rng_current (hw_random core missing)"
cur=$(cat "$hw/rng_current")
avail=$(tr ' ' ',' <"$hw/rng_available" | sed 's/,$//')
result "rng_current=$cur rng_available=${avail:-none}"
case $cur in virtio_rng*) ;; *) fail "rng_current is '$cur', not a virtio_rng" ;; esac
[ -c /dev/hwrng ] || fail "no /dev/hwrng"
t=$(uptime_cs)
in_child dd if=/dev/hwrng of=/tmp/rng.bin bs=64 count=1 iflag=fullblock 2>/dev/null ||
	fail "read from /dev/hwrng failed"
s=$(since "$t")
n=$(wc -c </tmp/rng.bin)
hex=$(od -An -tx1 /tmp/rng.bin | tr -d ' \n')
result "bytes=$n seconds=$s first16=$(echo "$hex" | cut -c1-32)"
[ "$n" = 64 ] || fail "read $n bytes from /dev/hwrng, not 64"
case $hex in *[!0]*) ;; *) fail "64 bytes from /dev/hwrng are all zero" ;; esac
exit 0
