#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Write a known line to the virtio console port (/dev/hvc0, or the first
# virtio-serial port when there is no console port) for the host to find.
# vdev.args: console.text=TEXT (no spaces or commas; default VDEV-CONSOLE-HELLO)
set -eu
. /vdev/lib.sh

text=$(vdev_arg console.text VDEV-CONSOLE-HELLO)
ports=""
for p in /sys/class/virtio-ports/*; do
	[ -d "$p" ] || continue
	name=$(cat "$p/name" 2>/dev/null || true)
	ports="$ports${ports:+,}${p##*/}${name:+:$name}"
done
node=""
for n in /dev/hvc0 /dev/vport0p1; do
	[ -c "$n" ] && { node=$n; break; }
done
if [ -z "$node" ]; then
	for n in /dev/hvc[0-9]* /dev/vport[0-9]*p[0-9]*; do
		[ -c "$n" ] && { node=$n; break; }
	done
fi
result "ports=${ports:-none} node=${node:-none}"
[ -n "$node" ] || fail "no virtio console port (/dev/hvc0 or /dev/vport0p1)"
in_child sh -c "echo '$text' >$node" || fail "write to $node failed"
result "wrote=$text"
exit 0
