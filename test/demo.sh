#!/usr/bin/env bash
# demo.sh - the README's first command: the four-engine lab plus a manager.
#
# Usage: demo.sh up | down | status
# `up` (re)creates the lab (test/lab/lab.sh), starts `bin/swarm manage` on
# the lab bridge with file:// discovery of the lab's engines, waits until the
# manager sees every engine healthy and prints the DOCKER_HOST line.
# `down` stops the manager by its PID and takes the lab down.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LAB=$ROOT/test/lab/lab.sh
STATE=${LAB_STATE:-/var/lib/swarmlab}
RUN=${DEMO_RUN:-/run/swarm-demo}
ADDR=${DEMO_ADDR:-10.77.0.1:2375}
SWARM=$ROOT/bin/swarm

log() { printf 'demo: %s\n' "$*" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

# manager_pid prints the PID in $RUN/manager.pid if that process is still the
# manager this script started (not a later process that reused the PID).
manager_pid() {
	local pid
	[ -f "$RUN/manager.pid" ] || return 0
	pid=$(tr -dc '0-9' <"$RUN/manager.pid")
	if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$SWARM manage"; then
		echo "$pid"
	fi
}

stop_manager() {
	local pid
	pid=$(manager_pid)
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
	fi
	rm -f "$RUN/manager.pid"
}

cmd_up() {
	[ "$(id -u)" = 0 ] || die "must run as root (the lab creates network namespaces); try: sudo make demo"
	[ -x "$SWARM" ] || die "$SWARM is missing; run: make build"
	mkdir -p "$RUN"
	stop_manager
	"$LAB" up
	local want
	want=$(wc -l <"$STATE/engines.txt")
	"$SWARM" manage -H "tcp://$ADDR" --engine-refresh-min-interval 5s --engine-refresh-max-interval 10s \
		"file://$STATE/engines.txt" >"$RUN/manager.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$RUN/manager.pid"
	log "manager pid $pid, log $RUN/manager.log"
	for _ in $(seq 150); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -20 "$RUN/manager.log" >&2
			die "the manager exited; its log is above"
		fi
		local healthy
		healthy=$(DOCKER_HOST=tcp://$ADDR docker info --format '{{json .SystemStatus}}' 2>/dev/null | grep -o '"Healthy"' | wc -l || true)
		if [ "$healthy" -ge "$want" ]; then
			echo
			echo "The cluster is ready: $want engines behind the manager at tcp://$ADDR. Run:"
			echo
			echo "  export DOCKER_HOST=tcp://$ADDR"
			echo "  docker info"
			echo
			echo "Stop it with: make demo-down"
			return 0
		fi
		sleep 0.2
	done
	tail -20 "$RUN/manager.log" >&2
	die "the manager did not see $want healthy engines within 30s; its log is above"
}

cmd_down() {
	[ "$(id -u)" = 0 ] || die "must run as root; try: sudo make demo-down"
	stop_manager
	"$LAB" down
}

cmd_status() {
	local pid
	pid=$(manager_pid)
	if [ -n "$pid" ]; then
		echo "manager: running (pid $pid) on tcp://$ADDR"
	else
		echo "manager: not running"
	fi
	"$LAB" status
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*) echo "usage: demo.sh up | down | status" >&2; exit 2 ;;
esac
