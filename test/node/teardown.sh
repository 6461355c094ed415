#!/usr/bin/env bash
# teardown.sh WORKDIR: removes everything a test node made, from WORKDIR/node-state.env: every
# process in its network namespace and in its kubelet cgroup tree (containers and their shims
# outlive containerd), every mount under WORKDIR (kubelet volumes, container rootfs, pod network
# namespaces), its cgroups, its network namespace (with the veth pair), then WORKDIR. Safe to run
# twice, and run by watchdog.sh when the test process dies, even by SIGKILL.
set -u
work=$1
state="$work/node-state.env"
[ -f "$state" ] || { rm -rf "$work"; exit 0; }
# shellcheck disable=SC1090
. "$state"

procs() {
  { [ -e "/var/run/netns/$NETNS" ] && ip netns pids "$NETNS" 2>/dev/null
    for d in /sys/fs/cgroup/*/"$CGROUP_ROOT" /sys/fs/cgroup/"$CGROUP_ROOT" /sys/fs/cgroup/unified/"$CGROUP_ROOT"; do
      [ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
    done
  } | sort -u | grep -v "^$$\$"
}
for sig in TERM KILL KILL KILL; do
  pids=$(procs)
  [ -n "$pids" ] || break
  # shellcheck disable=SC2086
  kill -$sig $pids 2>/dev/null
  sleep 0.5
done

# Deepest mounts first; lazy, so a busy one cannot block the rest.
grep -F " $work/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null
done

for d in /sys/fs/cgroup/*/"$CGROUP_ROOT" /sys/fs/cgroup/unified/"$CGROUP_ROOT" /sys/fs/cgroup/"$CGROUP_ROOT"; do
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
done
[ -e "/var/run/netns/$NETNS" ] && ip netns del "$NETNS" 2>/dev/null
ip link del "$HOST_VETH" 2>/dev/null
rm -rf "$work" 2>/dev/null || { sleep 1; rm -rf "$work"; }
exit 0
