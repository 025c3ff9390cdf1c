#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The product's acceptance test: vdev-host serves libvdev's devices to a real Linux
# guest under QEMU TCG, through each connector and in each PCI mode, and the guest
# checks them from inside (blk checksums and size, rng data, console output, net with
# the configured MAC pinging the host's tap, driver unbind/rebind) while this script
# checks what reached the host (the image, the console file).
#
#   tests/guest/vdev_host.sh VDEV_HOST
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
VDEV_HOST=$(realpath "$1")
# shellcheck source=../../scripts/lib/host-guest.sh
. "$SRC/scripts/lib/host-guest.sh"
[ "$(id -u)" -eq 0 ] || { echo "vdev_host.sh: needs root (namespace, tap, QEMU install)"; exit 1; }
"$SRC/scripts/build-guest" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/vdev-guest.XXXXXX")
trap 'hg_stop; rm -rf "$work"' EXIT
passed=0
failed=0
PROXY4=(-device 'x-pci-proxy-dev,id=disk0,fd=@disk0.sock@' -device 'x-pci-proxy-dev,id=rng0,fd=@rng0.sock@'
	-device 'x-pci-proxy-dev,id=net0,fd=@net0.sock@' -device 'x-pci-proxy-dev,id=con0,fd=@con0.sock@')
NETARGS=net.ip=10.0.2.15/24,net.peer=10.0.2.2

# case NAME CONFIG TESTS APPEND ARGS EXPECT_VERSION1 -- QEMU_ARGS
run_case() {
	local name=$1 config=$2 tests=$3 append=$4 args=$5 v1=$6
	shift 7
	local dir="$work/$name" log="$work/$name/guest.log" t0 rc=0 bad=0
	echo "=== $name: $tests"
	hg_start "$dir" "$SRC/tests/guest/configs/$config"
	t0=$(date +%s)
	hg_boot "$log" "$tests" "irqpoll nolapic_timer $append" "$args" -- "$@" > "$dir/boot.out" 2>&1 || rc=$?
	tr -d '\r' < "$log" > "$log.txt"
	grep -hoE 'VDEV-(PASS|FAIL|DONE).*' "$log.txt" | sed 's/^/guest: /' || true
	[ "$rc" -eq 0 ] || { echo "FAIL $name: boot-guest exit $rc"; bad=1; }
	hg_check_host || bad=1
	# A guest restarted against the running host gets fresh functions.
	if [ "${RESTART:-0}" = 1 ] && [ "$bad" -eq 0 ]; then
		if hg_boot "$log.2" pci,blk "irqpoll nolapic_timer $append" "" -- "$@" > "$dir/boot2.out" 2>&1; then
			echo "host: a restarted guest found its devices again"
		else
			echo "FAIL $name: the guest restarted against the running host failed"; bad=1
		fi
	fi
	# Which interface the guest's drivers really used.
	if [ -n "$v1" ] && grep -q 'VDEV-RESULT pci bdf' "$log.txt"; then
		if grep -oE 'VDEV-RESULT pci bdf.*' "$log.txt" | grep -vq "version1=$v1"; then
			echo "FAIL $name: a device did not run with version1=$v1"; bad=1
		else
			echo "host: every device ran with version1=$v1"
		fi
	fi
	if grep -qE 'VDEV-RESULT net .*mac=' "$log.txt" &&
		! grep -qE 'VDEV-RESULT net .*mac=52:54:00:12:34:56' "$log.txt"; then
		echo "FAIL $name: the guest's NIC does not have the configured MAC"; bad=1
	fi
	hg_stop
	echo "--- $name took $(( $(date +%s) - t0 ))s"
	if [ "$bad" -eq 0 ]; then passed=$((passed + 1)); else
		failed=$((failed + 1)); tail -n 15 "$dir/host.log" | sed 's/^/host.log: /'
		tail -n 5 "$dir/boot.out" | sed 's/^/boot: /'
	fi
}

RESTART=1 run_case modern modern.json pci,blk,rng,net,console,rebind "" "$NETARGS" 1 -- "${PROXY4[@]}"
run_case legacy legacy.json pci,blk,rng,net,console "" "$NETARGS" 0 -- "${PROXY4[@]}"
run_case transitional-legacy-driver transitional.json pci,blk,rng,console \
	"virtio_pci.force_legacy=1" "" 0 -- "${PROXY4[@]}"
run_case transitional-modern-driver transitional.json pci,blk,rng,console "" "" 1 -- "${PROXY4[@]}"
# net over vhost-user is exercised by dpdk-testpmd's virtio-user front end
# (tests/vhost_user); QEMU 7.2's -netdev vhost-user does not work with it yet.
RESTART=1 run_case vhost-user vhost-user.json pci,blk,rng "" "" "" -- \
	-chardev "socket,id=c0,path=@WORK@/disk0.sock" -device vhost-user-blk-pci,chardev=c0 \
	-chardev "socket,id=c1,path=@WORK@/rng0.sock" -device vhost-user-rng-pci,chardev=c1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
