#!/bin/bash
# down.sh: stop every process of the lab by its PID and delete its namespaces.
#   LAB_STATE=/tmp/gntbot-lab [LAB_ID=...] tests/cluster/lab/down.sh [--purge]
# --purge also deletes $LAB_STATE. Safe to run when nothing is up. Only the
# lab with the same LAB_ID is touched: other labs on the machine stay up.
set -uo pipefail
prefix="gntlab${LAB_ID:-}-"
namespaces=$(ip netns list | awk -v prefix="$prefix" 'index($1, prefix) == 1 && $1 ~ /-(switch|client|node[0-9]+)$/ {print $1}')
pids=()
if [ -n "${LAB_STATE:-}" ] && [ -s "$LAB_STATE/forwarder.pid" ]; then
    pids+=("$(cat "$LAB_STATE/forwarder.pid")")
    rm -f "$LAB_STATE/forwarder.pid"
fi
for ns in $namespaces; do
    # shellcheck disable=SC2207
    pids+=($(ip netns pids "$ns"))
done
if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null
    for _ in $(seq 50); do
        alive=()
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
        [ ${#alive[@]} -eq 0 ] && break
        sleep 0.1
    done
    [ ${#alive[@]} -gt 0 ] && kill -KILL "${alive[@]}" 2>/dev/null
fi
for ns in $namespaces; do ip netns delete "$ns"; done
if [ "${1:-}" = "--purge" ] && [ -n "${LAB_STATE:-}" ]; then
    rm -rf "$LAB_STATE"
fi
exit 0
