#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Bring up the virtio-net interface, give it an address and ping a peer.
# vdev.args keys (optional):
#   net.ip=A.B.C.D/N   address (default 10.0.2.15/24, QEMU user networking)
#   net.peer=A.B.C.D   peer to ping (default 10.0.2.2)
#   net.count=N        pings (default 3)
#   net.if=NAME        interface (default: the first one bound to virtio_net)
set -eu
. /vdev/lib.sh

ip_addr=$(vdev_arg net.ip 10.0.2.15/24)
peer=$(vdev_arg net.peer 10.0.2.2)
count=$(vdev_arg net.count 3)
is_uint "$count" || fail "bad vdev.args: net.count=$count"
ifc=$(vdev_arg net.if "")
if [ -z "$ifc" ]; then
	for i in /sys/class/net/*; do
		[ "$(driver_of "$i/device")" = virtio_net ] && { ifc=${i##*/}; break; }
	done
fi
[ -n "$ifc" ] || fail "no network interface bound to virtio_net"
[ -d "/sys/class/net/$ifc" ] || fail "no interface $ifc"
mac=$(cat "/sys/class/net/$ifc/address")
ip link set lo up || true
in_child ip link set "$ifc" up || fail "ip link set $ifc up failed"
in_child ip addr add "$ip_addr" dev "$ifc" || fail "ip addr add $ip_addr dev $ifc failed"
# Carrier comes up asynchronously (VIRTIO_NET_S_LINK_UP); give it a moment.
i=0
while [ "$(cat "/sys/class/net/$ifc/carrier" 2>/dev/null || echo 0)" != 1 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
result "if=$ifc mac=$mac mtu=$(cat "/sys/class/net/$ifc/mtu") carrier=$(cat "/sys/class/net/$ifc/carrier" 2>/dev/null || echo 0)" \
	"operstate=$(cat "/sys/class/net/$ifc/operstate") ip=$ip_addr peer=$peer"
out=$(ping -c "$count" -W 2 "$peer" 2>&1) || true
tx=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
loss=$(echo "$out" | sed -n 's/.* \([0-9]*\)% packet loss.*/\1/p')
rtt=$(echo "$out" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
result "sent=${tx:-0} received=${rx:-0} loss_percent=${loss:-100} rtt_avg_ms=${rtt:-none}"
rx_pk=$(cat "/sys/class/net/$ifc/statistics/rx_packets")
tx_pk=$(cat "/sys/class/net/$ifc/statistics/tx_packets")
result "rx_packets=$rx_pk tx_packets=$tx_pk"
[ "${rx:-0}" -gt 0 ] || fail "no reply from $peer: $(echo "$out" | tail -n 2 | tr '\n' ' ')"
exit 0
