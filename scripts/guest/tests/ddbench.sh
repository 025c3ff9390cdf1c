#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Sequential-read benchmark over several virtio disks that hold identical data
# (bench/guest/run): each disk is named by its virtio-blk serial. First the
# data is checked (a checksum of the start and of the end of the range read,
# equal on every disk; the host compares it with its image too), then the
# disks are read with O_DIRECT dd, alternating disk after disk, one warm-up
# round and then the measured rounds. Output, one line per read:
#   VDEV-RESULT ddbench read disk=SERIAL round=N warmup=0|1 bytes=B seconds=S
# vdev.args keys:
#   ddbench.disks=S1:S2:...   serials of the disks, in the order they alternate
#   ddbench.mib=N             MiB read per dd (default 256)
#   ddbench.rounds=N          measured rounds (default 5)
#   ddbench.warmup=N          warm-up rounds (default 1)
#   ddbench.check_mib=N       MiB checksummed at each end of the range (default 8)
#   ddbench.bs_kib=N          dd block size in KiB (default 1024)
set -eu
. /vdev/lib.sh

disks=$(vdev_arg ddbench.disks "")
mib=$(vdev_arg ddbench.mib 256)
rounds=$(vdev_arg ddbench.rounds 5)
warmup=$(vdev_arg ddbench.warmup 1)
check=$(vdev_arg ddbench.check_mib 8)
bs_kib=$(vdev_arg ddbench.bs_kib 1024)
[ -n "$disks" ] || fail "ddbench.disks is not set"
is_uint "$mib" && is_uint "$rounds" && is_uint "$warmup" && is_uint "$check" && is_uint "$bs_kib" ||
	fail "bad vdev.args: ddbench.mib=$mib rounds=$rounds warmup=$warmup check_mib=$check bs_kib=$bs_kib"
[ "$mib" -gt 0 ] && [ "$check" -gt 0 ] && [ "$check" -le "$mib" ] ||
	fail "need 0 < ddbench.check_mib ($check) <= ddbench.mib ($mib)"
[ "$bs_kib" -ge 4 ] && [ $((mib * 1024 % bs_kib)) = 0 ] ||
	fail "ddbench.bs_kib ($bs_kib) must be at least 4 and divide ddbench.mib ($mib MiB)"
count=$((mib * 1024 / bs_kib))

# The block device (vdX) whose serial is $1.
dev_of() {
	for _b in /sys/block/vd*; do
		[ -f "$_b/serial" ] || continue
		[ "$(cat "$_b/serial")" = "$1" ] && { echo "${_b##*/}"; return 0; }
	done
	return 1
}

# Microseconds since the epoch: busybox's dd prints no timing, and
# /proc/uptime only has centiseconds.
now_us() {
	# shellcheck disable=SC3028 # busybox ash has it
	_t=$EPOCHREALTIME
	echo "${_t%.*}${_t#*.}"
}

# sha256 of $3 MiB of /dev/$1 from MiB $2, read past the page cache.
hash_range() {
	in_child dd if="/dev/$1" bs=1048576 skip="$2" count="$3" iflag=direct 2>/dev/null |
		sha256sum | cut -d' ' -f1
}

labels=$(echo "$disks" | tr ':' ' ')
first_sums=""
differ=""
for l in $labels; do
	d=$(dev_of "$l") || fail "no virtio disk with serial '$l' (have: $(cat /sys/block/vd*/serial 2>/dev/null | tr '\n' ' '))"
	q=/sys/block/$d/queue
	sectors=$(cat "/sys/block/$d/size")
	[ $((mib * 2048)) -le "$sectors" ] || fail "$d ($l) has $sectors sectors, too small for $mib MiB"
	result "disk disk=$l dev=$d sectors=$sectors max_sectors_kb=$(cat "$q"/max_sectors_kb)" \
		"max_segments=$(cat "$q"/max_segments) max_segment_size=$(cat "$q"/max_segment_size)" \
		"nr_requests=$(cat "$q"/nr_requests) hw_queues=$(find "/sys/block/$d/mq" -mindepth 1 -maxdepth 1 | wc -l)"
	head=$(hash_range "$d" 0 "$check")
	tail=$(hash_range "$d" $((mib - check)) "$check")
	result "check disk=$l head_mib=$check head_sha256=$head tail_offset_mib=$((mib - check)) tail_sha256=$tail"
	if [ -z "$first_sums" ]; then
		first_sums="$head $tail"
	elif [ "$first_sums" != "$head $tail" ]; then
		differ="$differ $l"
	fi
done
[ -z "$differ" ] || fail "disks returned other data than the first disk:$differ"

# A B C A B C ...: drift of the host lands on every disk alike.
r=0
while [ "$r" -lt $((warmup + rounds)) ]; do
	w=0
	[ "$r" -ge "$warmup" ] || w=1
	for l in $labels; do
		d=$(dev_of "$l")
		t0=$(now_us)
		in_child dd if="/dev/$d" of=/dev/null bs=$((bs_kib * 1024)) count="$count" iflag=direct 2>/tmp/ddbench.err ||
			fail "dd from /dev/$d ($l) failed: $(tr '\n' ' ' </tmp/ddbench.err)"
		t1=$(now_us)
		grep -q "^$count+0 records in" /tmp/ddbench.err ||
			fail "dd from /dev/$d ($l) read less than $mib MiB: $(tr '\n' ' ' </tmp/ddbench.err)"
		result "read disk=$l round=$r warmup=$w bytes=$((mib * 1048576))" \
			"seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e6 }')"
	done
	r=$((r + 1))
done
exit 0
