# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Run vdev-host on a configuration and boot the test guest against it: shared by
# scripts/demo and tests/guest/vdev_host.sh. Source it, set SRC (the source tree) and
# VDEV_HOST (the binary), then:
#
#   hg_start WORKDIR CONFIG.json     copy CONFIG into WORKDIR, make disk.img, start
#                                    vdev-host in a private network namespace
#   hg_boot LOG TESTS APPEND ARGS -- QEMU_ARGS...
#                                    connect to the proxy sockets named in QEMU_ARGS as
#                                    fd=@NAME.sock@, boot the guest, return its status
#   hg_check_host                    the guest's marker in disk.img, console output
#   hg_stop                          stop vdev-host (SIGTERM) and remove the namespace
#
# The net device's tap lives in the namespace with address 10.0.2.2/24; the guest
# uses 10.0.2.15/24, so no traffic ever leaves the namespace.

hg_ns=""
hg_pid=""
hg_work=""

hg_start() {
	hg_work=$1
	mkdir -p "$hg_work"
	cp "$2" "$hg_work/config.json"
	truncate -s 64M "$hg_work/disk.img"
	rm -f "$hg_work"/*.sock "$hg_work/con0.log"
	hg_ns="vdev-$$-$RANDOM"
	ip netns add "$hg_ns"
	ip netns exec "$hg_ns" ip link set lo up
	(cd "$hg_work" && exec ip netns exec "$hg_ns" "$VDEV_HOST" --config config.json) \
		> "$hg_work/host.log" 2>&1 &
	hg_pid=$!
	# QEMU's vhost-user chardevs connect at once: wait until every socket listens.
	for _ in $(seq 1 100); do
		grep -q "serving .* device" "$hg_work/host.log" 2>/dev/null && break
		kill -0 "$hg_pid" 2>/dev/null || { cat "$hg_work/host.log" >&2; return 1; }
		sleep 0.1
	done
	# The tap appears when QEMU connects; give the host end its address then.
	(
		for _ in $(seq 1 600); do
			if ip netns exec "$hg_ns" ip link show vdevtap0 >/dev/null 2>&1; then
				ip netns exec "$hg_ns" ip addr add 10.0.2.2/24 dev vdevtap0 2>/dev/null
				ip netns exec "$hg_ns" ip link set vdevtap0 up
				exit 0
			fi
			sleep 0.1
		done
	) &
}

hg_boot() {
	local log=$1 tests=$2 append=$3 args=$4
	shift 5 # the fifth argument is "--"
	local socks=() qemu=() arg name i
	for arg in "$@"; do
		while [[ $arg =~ @([A-Za-z0-9_.-]+\.sock)@ ]]; do
			name=${BASH_REMATCH[1]}
			i=${#socks[@]}
			socks+=("$hg_work/$name")
			arg=${arg/@$name@/\{fd$i\}}
		done
		qemu+=("${arg//@WORK@/$hg_work}")
	done
	local appends=()
	for arg in $append; do appends+=(--append "$arg"); done
	local boot=("$SRC/scripts/boot-guest" --no-build --tests "$tests" "${appends[@]}"
		    ${args:+--args "$args"} --log "$log" -- "${qemu[@]}")
	if [ ${#socks[@]} -gt 0 ]; then
		"$SRC/scripts/qemu-connect" "${socks[@]}" -- "${boot[@]}"
	else
		"${boot[@]}"
	fi
}

hg_check_host() {
	local bad=0 marker
	if grep -q '"type": "blk"' "$hg_work/config.json"; then
		marker=$(dd if="$hg_work/disk.img" bs=1 skip=5242880 count=15 2>/dev/null || true)
		if [ "$marker" = VDEV-BLK-MARKER ]; then echo "host: disk.img holds the guest's marker"
		else echo "host: FAIL: the guest's write did not reach disk.img"; bad=1; fi
	fi
	if grep -q '"type": "console"' "$hg_work/config.json"; then
		if grep -q VDEV-CONSOLE-HELLO "$hg_work/con0.log" 2>/dev/null; then
			echo "host: con0.log holds the guest's console line"
		else echo "host: FAIL: console output did not reach con0.log"; bad=1; fi
	fi
	return $bad
}

hg_stop() {
	if [ -n "$hg_pid" ]; then
		kill -TERM "$hg_pid" 2>/dev/null || true
		wait "$hg_pid" 2>/dev/null || true
	fi
	hg_pid=""
	[ -n "$hg_ns" ] && ip netns del "$hg_ns" 2>/dev/null || true
	hg_ns=""
}
