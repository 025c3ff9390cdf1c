#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Prove the guest rig against QEMU's own virtio devices, before libvdev is
# involved: boot the test guest with QEMU's virtio-blk-pci, virtio-rng-pci,
# virtio-serial-pci + virtconsole and virtio-net-pci, once with modern-only
# devices and once with transitional devices driven in legacy mode
# (virtio_pci.force_legacy=1), and check from the host what the guest did.
# Ends with "<n> passed, <m> failed"; exits non-zero on any failure.
#
# Environment: VDEV_GUEST_CACHE (see scripts/build-guest), VDEV_GUEST_KEEP=1
# keeps the temporary directory (image, console file, logs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
scripts=$root/scripts
npass=0
nfail=0
ok() { echo "ok - $*"; npass=$((npass + 1)); }
bad() { echo "FAIL - $*"; nfail=$((nfail + 1)); }
check() { # description, command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
summary() {
	echo "$npass passed, $nfail failed"
	[ "$nfail" = 0 ]
}

work=$(mktemp -d "${TMPDIR:-/tmp}/vdev-qemu-builtin.XXXXXX")
if [ "${VDEV_GUEST_KEEP:-0}" = 1 ]; then
	trap 'echo "kept $work"' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi

t=$SECONDS
if "$scripts/build-guest" >"$work/build.log" 2>&1; then
	ok "build-guest ($((SECONDS - t)) s)"
else
	bad "build-guest failed:"
	sed 's/^/  | /' "$work/build.log"
	summary
	exit 1
fi

# The value of key in the first "VDEV-RESULT <test> ..." line that has it.
fact() { # file test key
	sed -n "s/^VDEV-RESULT $2 .*\\b$3=\\([^ ]*\\).*/\\1/p" "$1" | head -n1
}

# run_config NAME MODE-PROPS KERNEL-OPTIONS EXPECTED-DEVICE-IDS EXPECTED-VERSION1
run_config() {
	local name=$1 props=$2 kopts=$3 ids=$4 ver1=$5
	local legacy_param=N
	[ "$ver1" = 1 ] || legacy_param=Y
	local dir=$work/$name
	mkdir -p "$dir"
	local img=$dir/disk.img size=$((64 * 1024 * 1024))
	truncate -s "$size" "$img"
	local tag
	tag=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	local mib=4 off_mib=2 marker=VDEV-MARK-$tag moff=$((9 * 1048576 + 4093))
	local text=VDEV-CONSOLE-$tag mac=52:54:00:12:34:56
	local tests=pci,blk,rng,console,net,rebind
	local args="blk.mib=$mib,blk.offset_mib=$off_mib,blk.marker=$marker,blk.marker_offset=$moff"
	args+=",console.text=$text,net.ip=10.0.2.15/24,net.peer=10.0.2.2"

	echo "# $name: $props${kopts:+, kernel: $kopts}"
	local st=0
	"$scripts/boot-guest" --no-build --tests "$tests" --args "$args" --log "$dir/console.log" \
		${kopts:+--append "$kopts"} -- \
		-drive "file=$img,if=none,id=d0,format=raw,cache=writeback" \
		-device "virtio-blk-pci,drive=d0,$props" \
		-device "virtio-rng-pci,$props" \
		-device "virtio-serial-pci,$props" \
		-chardev "file,id=con0,path=$dir/hvc.out" -device virtconsole,chardev=con0 \
		-netdev user,id=n0 -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,$props" \
		>"$dir/boot.out" 2>&1 || st=$?
	sed 's/^/  | /' "$dir/boot.out"
	local res=$dir/results
	grep '^VDEV-' "$dir/boot.out" >"$res" || true

	check "$name: boot-guest exit status 0 ($(sed -n 's/.*wall time \([0-9.]*s\).*/\1/p' "$dir/boot.out"))" \
		test "$st" = 0
	check "$name: VDEV-DONE pass=6 fail=0" grep -qx 'VDEV-DONE pass=6 fail=0' "$res"
	local tname
	for tname in ${tests//,/ }; do
		check "$name: guest test $tname passed" grep -qx "VDEV-PASS $tname" "$res"
	done

	# pci: the four functions, with the IDs and interface this mode implies.
	check "$name: pci saw 4 virtio functions" test "$(fact "$res" pci count)" = 4
	check "$name: virtio_pci.force_legacy is $legacy_param" test "$(fact "$res" pci force_legacy)" = "$legacy_param"
	local id
	for id in $ids; do
		check "$name: pci device $id present, driver bound" \
			grep -q "^VDEV-RESULT pci .*device=$id .*pci_driver=virtio-pci .*virtio_driver=[a-z]" "$res"
	done
	check "$name: every device runs with version1=$ver1 (modern=1, legacy=0)" \
		test "$(grep '^VDEV-RESULT pci bdf=' "$res" | grep -vc " version1=$ver1 ")" = 0

	# blk: checksums agree in the guest and with the image file on the host.
	local w r
	w=$(fact "$res" blk wrote_sha256)
	r=$(fact "$res" blk read_sha256)
	check "$name: blk read-back checksum equals written" test -n "$w" -a "$w" = "$r"
	check "$name: blk md5 read-back equals written" \
		test -n "$(fact "$res" blk wrote_md5)" -a "$(fact "$res" blk wrote_md5)" = "$(fact "$res" blk read_md5)"
	local host_sha
	host_sha=$(dd if="$img" bs=1048576 skip="$off_mib" count="$mib" status=none | sha256sum | cut -d' ' -f1)
	check "$name: blk data in the image file matches the guest's checksum" test "$host_sha" = "$w"
	check "$name: blk size seen by the guest equals the image size" \
		test "$(fact "$res" blk sectors)" = $((size / 512))
	local got
	got=$(dd if="$img" bs=1 skip="$moff" count=${#marker} status=none)
	check "$name: blk marker '$marker' at byte $moff of the image file" test "$got" = "$marker"

	# rng, console, net.
	check "$name: rng came from virtio_rng" grep -q '^VDEV-RESULT rng rng_current=virtio_rng' "$res"
	check "$name: console file has the guest's line" grep -q "^$text" "$dir/hvc.out"
	check "$name: console file has the line written after rebind" grep -q '^VDEV-CONSOLE rebind' "$dir/hvc.out"
	check "$name: net MAC is $mac" test "$(fact "$res" net mac)" = "$mac"
	check "$name: net got ping replies" test "$(fact "$res" net received)" -gt 0 2>/dev/null
	check "$name: rebind cycled 4 functions" test "$(fact "$res" rebind count)" = 4
	check "$name: no rebind check failed" test "$(grep -c 'check=failed\|=failed' "$res")" = 0
	# Per-test seconds, for the record.
	echo "  times: $(sed -n 's/^VDEV-RESULT \([a-z]*\) seconds=\([0-9.]*\)$/\1=\2s/p' "$res" | tr '\n' ' ')" \
		"init-at=$(fact "$res" init uptime)s" \
		"done-at=$(sed -n 's/^VDEV-RESULT init uptime=\([0-9.]*\)$/\1s/p' "$res")" \
		"(guest uptime)"
}

# Modern-only devices: IDs 0x1040 + type.
run_config modern "disable-legacy=on,disable-modern=off" "" \
	"0x1041 0x1042 0x1043 0x1044" 1
# Transitional devices (IDs 0x1000-0x103f), driven through the legacy interface.
run_config legacy "disable-legacy=off,disable-modern=off" "virtio_pci.force_legacy=1" \
	"0x1000 0x1001 0x1003 0x1005" 0

summary
