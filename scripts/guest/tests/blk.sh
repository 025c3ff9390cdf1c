#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Write random data to the virtio disk, drop the caches, read it back and
# compare checksums; then write a marker the host checks in the image file.
# vdev.args keys (all optional):
#   blk.dev=vdX            disk to use (default: the first /sys/block/vd*)
#   blk.mib=N              MiB of random data (default 4)
#   blk.offset_mib=N       where the data goes, in MiB (default 1)
#   blk.marker=TEXT        marker text, no spaces or commas (default VDEV-BLK-MARKER)
#   blk.marker_offset=N    marker byte offset (default: just after the data)
set -eu
. /vdev/lib.sh

dev=$(vdev_arg blk.dev "")
if [ -z "$dev" ]; then
	for b in /sys/block/vd*; do [ -d "$b" ] && { dev=${b##*/}; break; }; done
fi
[ -n "$dev" ] || fail "no virtio disk (/sys/block/vd*)"
[ -b "/dev/$dev" ] || fail "no block device node /dev/$dev"
mib=$(vdev_arg blk.mib 4)
off=$(vdev_arg blk.offset_mib 1)
marker=$(vdev_arg blk.marker VDEV-BLK-MARKER)
moff=$(vdev_arg blk.marker_offset $(((off + mib) * 1048576)))
is_uint "$mib" && is_uint "$off" && is_uint "$moff" ||
	fail "bad vdev.args: blk.mib=$mib blk.offset_mib=$off blk.marker_offset=$moff"

sectors=$(cat "/sys/block/$dev/size")
result "dev=$dev sectors=$sectors bytes=$((sectors * 512))" \
	"logical_block=$(cat "/sys/block/$dev/queue/logical_block_size")" \
	"read_only=$(cat "/sys/block/$dev/ro")" \
	"queues=$(ls -d "/sys/block/$dev/mq/"* 2>/dev/null | wc -l)"
[ "$sectors" -gt 0 ] || fail "$dev has size 0"
end=$(((off + mib) * 2048))
[ "$end" -le "$sectors" ] || fail "$dev too small: need $end sectors for ${mib} MiB at ${off} MiB, have $sectors"
[ $((moff + ${#marker})) -le $((sectors * 512)) ] || fail "marker offset $moff beyond the end of $dev"

# Random data, written through the page cache and flushed.
dd if=/dev/urandom of=/tmp/blk.w bs=1048576 count="$mib" iflag=fullblock 2>/dev/null ||
	fail "cannot read /dev/urandom"
w_sha=$(sha256sum </tmp/blk.w | cut -d' ' -f1)
w_md5=$(md5sum </tmp/blk.w | cut -d' ' -f1)
t=$(uptime_cs)
in_child dd if=/tmp/blk.w of="/dev/$dev" bs=1048576 seek="$off" conv=fsync 2>/tmp/blk.err ||
	fail "write to /dev/$dev failed: $(tr '\n' ' ' </tmp/blk.err)"
w_s=$(since "$t")
rm -f /tmp/blk.w

# Nothing cached: the read must come from the device.
drop_caches
in_child blockdev --flushbufs "/dev/$dev" || fail "blockdev --flushbufs /dev/$dev failed"
t=$(uptime_cs)
in_child dd if="/dev/$dev" of=/tmp/blk.r bs=1048576 skip="$off" count="$mib" 2>/tmp/blk.err ||
	fail "read from /dev/$dev failed: $(tr '\n' ' ' </tmp/blk.err)"
r_s=$(since "$t")
r_sha=$(sha256sum </tmp/blk.r | cut -d' ' -f1)
r_md5=$(md5sum </tmp/blk.r | cut -d' ' -f1)
rm -f /tmp/blk.r
result "offset_mib=$off mib=$mib write_seconds=$w_s read_seconds=$r_s"
result "wrote_sha256=$w_sha read_sha256=$r_sha"
result "wrote_md5=$w_md5 read_md5=$r_md5"
[ "$w_sha" = "$r_sha" ] && [ "$w_md5" = "$r_md5" ] ||
	fail "data read back differs from data written ($mib MiB at $off MiB)"

# Marker for the host: byte offset $moff, exactly the marker's bytes.
printf '%s' "$marker" >/tmp/blk.m
in_child dd if=/tmp/blk.m of="/dev/$dev" bs=4096 seek="$moff" oflag=seek_bytes conv=notrunc,fsync 2>/tmp/blk.err ||
	fail "marker write failed: $(tr '\n' ' ' </tmp/blk.err)"
drop_caches
got=$(in_child dd if="/dev/$dev" bs=4096 skip="$moff" count="${#marker}" iflag=skip_bytes,count_bytes 2>/dev/null) || got=""
result "marker=$marker marker_offset=$moff marker_readback=$([ "$got" = "$marker" ] && echo ok || echo bad)"
[ "$got" = "$marker" ] || fail "marker read back as '$got'"
exit 0
