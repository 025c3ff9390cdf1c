#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The vhost-user connector against real front ends, through tests/vhost_user's
# stand-alone back end (vhost_user_serve).
#
#   tests/vhost_user/vhost_user_smoke.sh [--only qemu-rng|qemu-blk|dpdk] [BUILD_DIR]
#
# qemu-rng: the Linux test guest (scripts/boot-guest, --tests pci,rng) with
#   -device vhost-user-rng-pci; QEMU 7.2 registers RAM with ADD_MEM_REG.
# qemu-blk: the same with -device vhost-user-blk-pci on a scratch image, back end
#   offering no CONFIGURE_MEM_SLOTS so QEMU uses SET_MEM_TABLE; SeaBIOS starts and
#   stops the device once before Linux (--tests pci,blk).
# dpdk: dpdk-testpmd's virtio-user front end (--no-huge) against virtio-net, in
#   txonly mode (frames must reach the backend) and io mode with the backend
#   reflecting every frame (frames must come back).
#
# BUILD_DIR is a meson build directory of a tree that includes tests/vhost_user
# (default: build). Exits 0 when every selected case passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
only=""
while [ $# -gt 0 ]; do
	case $1 in
	--only) only=${2:?--only needs qemu-rng, qemu-blk or dpdk}; shift 2 ;;
	-h | --help) sed -n '3,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
build=${1:-$top/build}
serve=$build/tests/vhost_user/vhost_user_serve
die() { echo "vhost_user_smoke: $*" >&2; exit 2; }
[ -x "$serve" ] || die "no $serve (build tests/vhost_user first)"

work=$(mktemp -d "${TMPDIR:-/tmp}/vhost-user-smoke.XXXXXX")
spid=""
cleanup() {
	[ -n "$spid" ] || return 0
	kill -TERM "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
}
trap cleanup EXIT
failed=0

# start_serve NAME ARGS...: back end on $work/NAME.sock, logs in $work/NAME.serve.*
start_serve() {
	local name=$1; shift
	"$serve" --socket "$work/$name.sock" --once "$@" \
		>"$work/$name.serve.out" 2>"$work/$name.serve.err" &
	spid=$!
	for _ in $(seq 50); do [ -S "$work/$name.sock" ] && return 0; sleep 0.1; done
	die "the back end did not listen (see $work/$name.serve.err)"
}
stop_serve() {
	cleanup
	spid=""
}
verdict() { # NAME OK?
	local name=$1 ok=$2
	cat "$work/$name.serve.out"
	if [ "$ok" = 1 ] && ! grep -q 'refused [1-9]' "$work/$name.serve.out"; then
		echo "vhost_user_smoke: ok: $name"
	else
		echo "vhost_user_smoke: FAILED: $name (logs in $work)" >&2
		failed=1
	fi
}

qemu_case() { # NAME TESTS SERVE-ARGS -- DEVICE
	local name=$1 tests=$2 ok=0; shift 2
	local sargs=()
	while [ "$1" != -- ]; do sargs+=("$1"); shift; done
	shift
	[ -x "$top/scripts/boot-guest" ] || die "scripts/boot-guest not in this tree"
	start_serve "$name" "${sargs[@]}"
	if "$top/scripts/boot-guest" --tests "$tests" --timeout 300 --log "$work/$name.guest" \
		-- -chardev "socket,id=vu0,path=$work/$name.sock" -device "$1,chardev=vu0" \
		>"$work/$name.boot" 2>&1; then
		ok=1
	fi
	grep -E '^(VDEV-|boot-guest:)' "$work/$name.boot" || true
	stop_serve
	verdict "$name" $ok
}

dpdk_case() { # NAME EXPECT SERVE-ARGS -- TESTPMD-ARGS
	local name=$1 expect=$2 ok=0; shift 2
	local sargs=()
	while [ "$1" != -- ]; do sargs+=("$1"); shift; done
	shift
	command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd missing (apt-get install dpdk-dev)"
	start_serve "$name" --device net "${sargs[@]}"
	timeout -s INT 10 dpdk-testpmd --no-huge -m 512 --no-pci --file-prefix "vu-smoke-$$" \
		--vdev "net_virtio_user0,path=$work/$name.sock,queues=1" --lcores=0@0,1@0 \
		-- --total-num-mbufs=8192 --stats-period 5 --auto-start "$@" \
		</dev/null >"$work/$name.testpmd" 2>&1 || true
	sleep 0.5
	stop_serve
	grep -A3 'Forward statistics for port 0' "$work/$name.testpmd" | tail -n 3 || true
	case $expect in
	tx) grep -q 'frames_out [1-9]' "$work/$name.serve.out" && ok=1 ;;
	rx) grep -Eq 'RX-packets: +[1-9]' "$work/$name.testpmd" && ok=1 ;;
	esac
	verdict "$name" $ok
}

if [ -z "$only" ] || [ "$only" = qemu-rng ]; then
	qemu_case qemu-rng pci,rng --device rng -- vhost-user-rng-pci
fi
if [ -z "$only" ] || [ "$only" = qemu-blk ]; then
	truncate -s 64M "$work/blk.img"
	qemu_case qemu-blk pci,blk --device blk --blk-file "$work/blk.img" --no-mem-slots \
		-- vhost-user-blk-pci
	if ! grep -q VDEV-BLK-MARKER "$work/blk.img"; then
		echo "vhost_user_smoke: FAILED: the guest's marker is not in the image" >&2
		failed=1
	fi
fi
if [ -z "$only" ] || [ "$only" = dpdk ]; then
	dpdk_case dpdk-txonly tx -- --forward-mode=txonly
	dpdk_case dpdk-io-reflect rx --net-reflect -- --forward-mode=io --tx-first
fi
[ $failed = 0 ] || exit 1
rm -rf "$work"
echo "vhost_user_smoke: ok"
