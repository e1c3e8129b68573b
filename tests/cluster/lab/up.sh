#!/bin/bash
# up.sh: build a real Ganeti 3.0 cluster (Debian's ganeti package, fake
# hypervisor) of three nodes on this machine, for gntbot's integration tests.
#
#   LAB_STATE=/tmp/gntbot-lab LAB_PORT=5080 [LAB_ID=1] tests/cluster/lab/up.sh
#
# LAB_ID (optional) goes into the namespace names, so that two labs (two test
# runs) can coexist. Each node is a network namespace (gntlab${LAB_ID}-nodeN,
# 192.0.2.1N on a private
# bridge, no route out) plus private mounts of its own /etc/ganeti,
# /var/lib/ganeti, /run, /root, ... under $LAB_STATE/nodes/nodeN (see nsinit).
# RAPI is reachable as https://127.0.0.1:$LAB_PORT through a socat forwarder.
# Users: reader/reader-secret (read), operator/operator-secret (write),
# guest/guest-secret (valid, but with neither right).
# Instances: inst1 diskless, inst2 file, inst3 sharedfile, inst4 diskless and
# stopped, inst5 sharedfile with two disks; tags on instances, a node and the
# cluster. down.sh undoes all of it. Needs root (netns, mount, veth, bridge).
set -euo pipefail
: "${LAB_STATE:?set LAB_STATE to a directory for the lab state}"
LAB_PORT=${LAB_PORT:-5080}
export LAB_STATE LAB_ID=${LAB_ID:-}
ns=gntlab$LAB_ID
here=$(dirname "$(readlink -f "$0")")
nodes=(node1 node2 node3)
started=$SECONDS

step() { printf '[%3ds] %s\n' $((SECONDS - started)) "$*"; }
on() { "$here/nsrun" "$@"; }

"$here/down.sh" --purge  # a fresh lab every time
mkdir -p "$LAB_STATE"

step "network: bridge, ${#nodes[@]} nodes and a client"
ip netns add "$ns-switch"
ip -n "$ns-switch" link set lo up
ip -n "$ns-switch" link add lab0 type bridge
ip -n "$ns-switch" link set lab0 up
attach() {  # attach NAMESPACE ADDRESS: a namespace with eth0 on the bridge
    local name=$1 address=$2 port=gl-$3
    ip netns add "$name"
    ip link add "$port" netns "$ns-switch" type veth peer name eth0 netns "$name"
    ip -n "$ns-switch" link set "$port" master lab0 up
    ip -n "$name" link set lo up
    ip -n "$name" address add "$address/24" dev eth0
    ip -n "$name" link set eth0 up
}
for i in "${!nodes[@]}"; do
    n=$((i + 1))
    attach "$ns-node$n" "192.0.2.1$n" "n$n"
    # the (empty) bridge the instances' NICs are attached to
    ip -n "$ns-node$n" link add br-inst type bridge
    ip -n "$ns-node$n" link set br-inst up
done
attach "$ns-client" 192.0.2.254 client

step "state trees, keys, hosts file, dummy OS"
keys=$LAB_STATE/keys
mkdir -p "$keys/etc/ssh" "$LAB_STATE/shared/sharedfile" "$LAB_STATE/shared/os/dummy"
# One host key set and one root key for all nodes: Ganeti keys known_hosts on
# the cluster name, so every node must present the same host key.
ssh-keygen -A -f "$keys" >/dev/null
ssh-keygen -q -t rsa -b 2048 -N '' -C lab-root -f "$keys/id_rsa"
{
    echo "127.0.0.1 localhost"
    echo "192.0.2.10 cluster.ganeti.test cluster"
    for n in 1 2 3 4 5 6 7 8 9; do echo "192.0.2.1$n node$n.ganeti.test node$n"; done
    for n in $(seq 1 20); do echo "192.0.2.$((100 + n)) inst$n.ganeti.test inst$n"; done
    echo "192.0.2.254 client.ganeti.test client"
} >"$LAB_STATE/hosts"

os=$LAB_STATE/shared/os/dummy
echo 20 >"$os/ganeti_api_version"
printf 'default\nminimal\n' >"$os/variants.list"
: >"$os/parameters.list"
for script in create rename verify; do printf '#!/bin/sh\nexit 0\n' >"$os/$script"; done
printf '#!/bin/sh\ncat >/dev/null\n' >"$os/import"
printf '#!/bin/sh\nexec cat "$DISK_0_PATH"\n' >"$os/export"
chmod 755 "$os"/create "$os"/rename "$os"/verify "$os"/import "$os"/export

for node in "${nodes[@]}"; do
    root=$LAB_STATE/nodes/$node
    mkdir -p "$root"/{etc/ganeti,etc/ssh,etc/default,var/lib/ganeti,var/log/ganeti} \
             "$root"/run/{lock,sshd} "$root"/root/.ssh \
             "$root"/srv/ganeti/{file-storage,shared-file-storage,os}
    cp -a /etc/ganeti/. "$root/etc/ganeti/"
    printf '/srv/ganeti/file-storage\n/srv/ganeti/shared-file-storage\n' \
        >"$root/etc/ganeti/file-storage-paths"
    cp -a /etc/ssh/ssh_config /etc/ssh/moduli "$root/etc/ssh/"
    cp -a "$keys"/etc/ssh/ssh_host_* "$root/etc/ssh/"
    cat >"$root/etc/ssh/sshd_config" <<'EOF'
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PidFile /run/sshd.pid
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
    # RAPI must listen on the cluster IP, not on the node's loopback
    sed 's/^RAPI_ARGS=.*/RAPI_ARGS="--require-authentication"/' /etc/default/ganeti \
        >"$root/etc/default/ganeti"
    cp "$LAB_STATE/hosts" "$root/etc/hosts"
    cp "$keys/id_rsa" "$keys/id_rsa.pub" "$root/root/.ssh/"
    cp "$keys/id_rsa.pub" "$root/root/.ssh/authorized_keys"
    chmod 700 "$root/root/.ssh"
    chmod 600 "$root/root/.ssh/id_rsa" "$root/root/.ssh/authorized_keys"
    chmod 755 "$root/run/sshd"
done

step "sshd on every node"
for node in "${nodes[@]}"; do on "$node" /usr/sbin/sshd; done

step "gnt-cluster init on node1"
on node1 gnt-cluster init \
    --enabled-hypervisors=fake \
    --enabled-disk-templates=diskless,file,sharedfile \
    --file-storage-dir=/srv/ganeti/file-storage \
    --shared-file-storage-dir=/srv/ganeti/shared-file-storage \
    --master-netdev=eth0 \
    --nic-parameters=mode=bridged,link=br-inst \
    --no-ssh-init --no-etc-hosts \
    --ipolicy-bounds-specs=min:disk-size=0,cpu-count=1,disk-count=0,memory-size=1,nic-count=0,spindle-use=0/max:disk-size=1048576,cpu-count=8,disk-count=16,memory-size=32768,nic-count=8,spindle-use=12 \
    cluster.ganeti.test >"$LAB_STATE/cluster-init.log" 2>&1

step "RAPI users (reader: read, operator: write, guest: neither)"
cat >"$LAB_STATE/nodes/node1/var/lib/ganeti/rapi/users" <<'EOF'
reader    reader-secret    read
operator  operator-secret  write
guest     guest-secret
EOF
# wconfd and luxid (gnt-masterd) must read the file: ensure-dirs sets its owner
on node1 /usr/lib/ganeti/ensure-dirs

step "forwarder 127.0.0.1:$LAB_PORT -> cluster IP"
setsid socat "TCP-LISTEN:$LAB_PORT,bind=127.0.0.1,reuseaddr,fork" "EXEC:$here/dial" \
    </dev/null >/dev/null 2>&1 &
echo $! >"$LAB_STATE/forwarder.pid"

for node in "${nodes[@]:1}"; do
    step "gnt-node add $node"
    on node1 gnt-node add "$node.ganeti.test" </dev/null >>"$LAB_STATE/node-add.log" 2>&1
    on "$node" /usr/lib/ganeti/daemon-util start ganeti-confd
done

step "instances"
add() {
    on node1 gnt-instance add --no-ip-check -o dummy+default "$@" \
        >>"$LAB_STATE/instances.log" 2>&1
}
adding=()
add -t diskless -n node1.ganeti.test -B memory=512M,vcpus=1 --net 0:ip=192.0.2.101 \
    --tags env:prod,role:web inst1.ganeti.test & adding+=($!)
add -t file --disk 0:size=1G -n node1.ganeti.test -B memory=1024M,vcpus=2 \
    --net 0:ip=192.0.2.102 --tags env:prod,role:db inst2.ganeti.test & adding+=($!)
add -t sharedfile --disk 0:size=512M -n node2.ganeti.test -B memory=256M,vcpus=1 \
    --net 0:ip=192.0.2.103 --tags env:staging,role:web inst3.ganeti.test & adding+=($!)
add -t diskless --no-start -n node3.ganeti.test -B memory=128M,vcpus=1 --net 0 \
    --tags env:dev inst4.ganeti.test & adding+=($!)
add -t sharedfile --disk 0:size=512M --disk 1:size=256M -n node3.ganeti.test \
    -B memory=768M,vcpus=4 --net 0:ip=192.0.2.105 --tags env:prod,role:cache inst5.ganeti.test & adding+=($!)
failed=0
for pid in "${adding[@]}"; do wait "$pid" || failed=1; done
if [ "$failed" != 0 ]; then
    cat "$LAB_STATE/instances.log" >&2
    exit 1
fi

step "tags"
on node1 gnt-cluster add-tags lab:gntbot htools:iextags:service
on node1 gnt-node add-tags node2.ganeti.test rack:b2
step "up: https://127.0.0.1:$LAB_PORT"
