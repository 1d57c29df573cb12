#!/usr/bin/env bash
# lab.sh - a multi-engine Docker lab on one machine, for the demo and the end-to-end tests.
#
# Every engine is a real dockerd (Debian's docker.io) in its own network namespace with its own
# address on a host bridge, hostname, engine ID, data root and exec root, so it looks like a
# separate host to the manager. A local registry (Debian's docker-registry) on the bridge serves
# as the engines' registry mirror, so a plain `docker pull busybox` really pulls.
#
# Usage: lab.sh up [--nodes N] [--tls] | down [--purge] | status | env
#                stop-engine NAME | start-engine NAME | freeze-engine NAME | thaw-engine NAME
# Run as root. State lives in $LAB_STATE (default /var/lib/swarmlab).
set -euo pipefail

STATE=${LAB_STATE:-/var/lib/swarmlab}
BRIDGE=swarmlab0
SUBNET_PREFIX=10.77.0           # a /24 used by nothing but this lab
BRIDGE_IP=$SUBNET_PREFIX.1
REGISTRY=$BRIDGE_IP:5000
NS_PREFIX=swarmlab-             # network namespaces: swarmlab-NAME
VETH_PREFIX=swlh                # host ends of the veth pairs: swlh1, swlh2, ...
CGROUP_PREFIX=swarmlab-         # each engine's --cgroup-parent: /swarmlab-NAME
PING_TIMEOUT=${LAB_PING_TIMEOUT:-60}
# RECIPE is part of the image cache key: change it whenever the image recipe below changes.
RECIPE=8
# Longest state dir we accept: dockerd and containerd create unix sockets below the exec
# root (STATE/x/N/...), the longest 39 bytes below STATE (containerd-debug.sock), and
# containerd refuses socket paths over 104 bytes ("unix socket path too long").
MAX_STATE_LEN=60
PLAIN_PORT=2375
TLS_PORT=2376
# In TLS mode (up --tls) `swarm certs create` writes everything here; see certs_up.
CERTS=$STATE/certs

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

usage() {
	cat >&2 <<'EOF'
usage: lab.sh COMMAND
  up [--nodes N] [--tls]
                      (re)create the lab: N engines (default 4: swarm-master, frontend,
                      backend1, backend2; more are node5, node6, ...), registry and images.
                      --tls: certificates from `swarm certs create` in STATE/certs, every
                      engine on IP:2376 with --tlsverify and no plain TCP port
  down [--purge]      stop everything by PID and remove namespaces, bridge, mounts and state
                      (--purge also removes the image cache: tarballs and registry storage)
  status              each engine, its address and whether it answers
  env                 shell lines describing the lab (engine addresses, registry, files)
  stop-engine NAME    stop one engine's dockerd (fault injection); its namespace stays
  start-engine NAME   start a stopped engine again and wait until it answers
  freeze-engine NAME  SIGSTOP the engine's dockerd: it accepts connections but never answers
  thaw-engine NAME    SIGCONT it again
environment: LAB_STATE (default /var/lib/swarmlab), LAB_PING_TIMEOUT (seconds, default 60),
             SWARM_BIN (swarm binary for up --tls; default: go run ./cmd/swarm)
EOF
	exit 2
}

# ---------- prerequisites ----------

need_root() {
	[ "$(id -u)" = 0 ] || die "must run as root (it creates network namespaces and starts dockerd); try: sudo $0 $*"
}

check_state_dir() {
	case $STATE in
	/*) ;;
	*) die "LAB_STATE must be an absolute path, got '$STATE'" ;;
	esac
	[ "${#STATE}" -le "$MAX_STATE_LEN" ] ||
		die "LAB_STATE '$STATE' is ${#STATE} characters; use at most $MAX_STATE_LEN (containerd's unix sockets below it are limited to 104 bytes)"
	# up and down delete what is in the state dir: only ever a dir this script made.
	# (A dir holding only cache/ is an image cache from before the marker existed.)
	if [ -d "$STATE" ] && [ ! -e "$STATE/.swarmlab" ] && [ -n "$(ls -A "$STATE" | grep -vx cache)" ]; then
		die "LAB_STATE '$STATE' is not empty and was not made by lab.sh (no .swarmlab marker); choose another directory"
	fi
}

# install_missing installs Debian packages for absent binaries; apt-get update only if needed.
install_missing() {
	local pkgs=()
	command -v dockerd >/dev/null || pkgs+=(docker.io)
	command -v docker-registry >/dev/null || pkgs+=(docker-registry)
	command -v iptables >/dev/null || pkgs+=(iptables)
	command -v curl >/dev/null || pkgs+=(curl)
	command -v ip >/dev/null || pkgs+=(iproute2)
	command -v nsenter >/dev/null || pkgs+=(util-linux)
	# Debian's plain busybox package is dynamically linked; the image needs the static one.
	if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
		pkgs+=(busybox-static)
	fi
	[ "${#pkgs[@]}" -eq 0 ] && return 0
	log "installing missing packages: ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${pkgs[@]}" >&2; then
		apt-get update >&2
		apt-get install -y --no-install-recommends "${pkgs[@]}" >&2
	fi
	command -v docker >/dev/null || die "no docker CLI found after installing docker.io"
}

# ---------- node table ----------

# node_table N prints "NAME IP LABELS" lines; LABELS is comma-separated or '-'.
node_table() {
	local n=$1 i name labels
	local defaults=(
		"swarm-master public=no"
		"frontend public=yes"
		"backend1 public=no,model=high-memory"
		"backend2 public=no,model=large-disk"
	)
	for ((i = 1; i <= n; i++)); do
		if [ "$i" -le 4 ]; then
			read -r name labels <<<"${defaults[$((i - 1))]}"
		else
			name=node$i labels=-
		fi
		printf '%s %s.%d %s\n' "$name" "$SUBNET_PREFIX" $((10 + i)) "$labels"
	done
}

# nodes prints the table of the lab that is (or was) up.
nodes() {
	[ -f "$STATE/nodes.txt" ] || die "no lab state in $STATE; run: $0 up"
	cat "$STATE/nodes.txt"
}

# load_node NAME sets N_NAME, N_IP, N_LABELS and N_IDX (1-based) for an engine of the lab.
# It runs in the calling shell (never in $(...)), so its die ends the script.
load_node() {
	local line
	nodes >/dev/null
	line=$(awk -v n="$1" '$1 == n {print NR, $0}' "$STATE/nodes.txt")
	[ -n "$line" ] || die "no engine named '$1' in the lab; known: $(awk '{printf "%s ", $1}' "$STATE/nodes.txt")"
	read -r N_IDX N_NAME N_IP N_LABELS <<<"$line"
}

# Paths of one node. The exec root is kept short (STATE/x/INDEX) because sockets live below it.
node_dir() { echo "$STATE/nodes/$1"; }
exec_root() { echo "$STATE/x/$2"; }

# ---------- processes ----------

# alive PID NAME: PID runs and its command line mentions NAME (guards against reused PIDs).
alive() {
	[ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
}

# stop_pid PID NAME SECONDS: SIGTERM, wait, then SIGKILL.
stop_pid() {
	local pid=$1 name=$2 secs=$3 i
	alive "$pid" "$name" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	kill -CONT "$pid" 2>/dev/null || true # a frozen engine must see its SIGTERM
	for ((i = 0; i < secs * 10; i++)); do
		alive "$pid" "$name" || return 0
		sleep 0.1
	done
	log "$name (pid $pid) ignored SIGTERM for ${secs}s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
}

pid_from() { [ -f "$1" ] && tr -dc '0-9' <"$1" || true; }

# ---------- plain or TLS ----------

# lab_mode prints "tls" or "plain": how the lab that is (or was) up serves its engines.
lab_mode() { if [ "$(cat "$STATE/mode" 2>/dev/null)" = tls ]; then echo tls; else echo plain; fi; }

engine_port() { if [ "$(lab_mode)" = tls ]; then echo "$TLS_PORT"; else echo "$PLAIN_PORT"; fi; }

# client_tls_args prints, one per line, the docker CLI flags that reach a TLS engine with the
# lab's client certificate (nothing in plain mode). Paths hold no spaces (checked at up).
client_tls_args() {
	[ "$(lab_mode)" = tls ] || return 0
	printf '%s\n' --tlsverify --tlscacert "$CERTS/client/ca.pem" --tlscert "$CERTS/client/cert.pem" --tlskey "$CERTS/client/key.pem"
}

# engine_docker IP ARGS...: the docker CLI against one engine, over TLS in TLS mode.
engine_docker() {
	local ip=$1 tlsargs
	shift
	mapfile -t tlsargs < <(client_tls_args)
	docker -H "tcp://$ip:$(engine_port)" "${tlsargs[@]}" "$@"
}

# ping_engine IP [SECONDS]: the engine answers /_ping (over TLS with the client certificate,
# verifying the engine's certificate against the lab CA, in TLS mode).
ping_engine() {
	local ip=$1 secs=${2:-1}
	if [ "$(lab_mode)" = tls ]; then
		curl -fsS --max-time "$secs" --cacert "$CERTS/client/ca.pem" --cert "$CERTS/client/cert.pem" \
			--key "$CERTS/client/key.pem" "https://$ip:$TLS_PORT/_ping" >/dev/null 2>&1
	else
		curl -fsS --max-time "$secs" "http://$ip:$PLAIN_PORT/_ping" >/dev/null 2>&1
	fi
}

# certs_up issues the lab's certificates with `swarm certs create`: a CA, the manager's
# listener certificate for the bridge address, the manager's client certificate for the
# engines, one server certificate per engine (name and IP SANs) and the CLI client "client".
certs_up() {
	local root name ip labels args=(--out "$CERTS" --manager "$BRIDGE_IP" --client client)
	while read -r name ip labels; do args+=(--node "$name=$ip"); done <"$STATE/nodes.txt"
	case $STATE in *[[:space:]]*) die "LAB_STATE '$STATE' holds a space; TLS mode needs a path without spaces" ;; esac
	if [ -n "${SWARM_BIN:-}" ]; then
		"$SWARM_BIN" certs create "${args[@]}" >"$STATE/certs.txt" || die "$SWARM_BIN certs create failed"
	else
		root=$(cd "$(dirname "$0")/../.." && pwd)
		command -v go >/dev/null || die "up --tls needs the swarm binary: set SWARM_BIN=/path/to/swarm or put go on PATH"
		(cd "$root" && go run ./cmd/swarm certs create "${args[@]}") >"$STATE/certs.txt" ||
			die "go run ./cmd/swarm certs create failed (in $root)"
	fi
	log "certificates in $CERTS (swarm certs create; its instructions are in $STATE/certs.txt)"
}

# ---------- network ----------

net_up() {
	ip link add "$BRIDGE" type bridge
	ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
	ip link set "$BRIDGE" up
	# Traffic between two namespaces is bridged on the host, and with br_netfilter it passes
	# the host's FORWARD chain, whose policy is DROP once a host dockerd has run. Let it
	# through so a container on one node reaches a port published on another.
	iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null ||
		log "warning: could not add the host FORWARD rule for $BRIDGE; node-to-node traffic may be dropped"
}

node_net_up() {
	local name=$1 ip=$2 idx=$3 ns=$NS_PREFIX$1
	ip netns add "$ns"
	ip link add "$VETH_PREFIX$idx" type veth peer name "swln$idx"
	ip link set "swln$idx" netns "$ns"
	ip -n "$ns" link set "swln$idx" name eth0
	ip -n "$ns" addr add "$ip/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip link set "$VETH_PREFIX$idx" master "$BRIDGE"
	ip link set "$VETH_PREFIX$idx" up
	# No default route on purpose: nothing outside is reachable, and without a route a pull
	# that misses the mirror fails at once instead of after DNS time-outs.
}

# ---------- engines ----------

# start_engine NAME IP INDEX LABELS: launch dockerd detached; does not wait for it.
start_engine() {
	local name=$1 ip=$2 idx=$3 labels=$4 dir xr l
	dir=$(node_dir "$name")
	xr=$(exec_root "$name" "$idx")
	mkdir -p "$dir/etc" "$dir/data" "$xr"
	local args=(
		--data-root "$dir/data" --exec-root "$xr"
		-H "unix://$xr/docker.sock"
		--pidfile "$xr/docker.pid"
		--cgroup-parent "/$CGROUP_PREFIX$name"
		--insecure-registry "$SUBNET_PREFIX.0/24" --registry-mirror "http://$REGISTRY"
		--shutdown-timeout 3
	)
	if [ "$(lab_mode)" = tls ]; then
		args+=(-H "tcp://$ip:$TLS_PORT" --tlsverify --tlscacert "$CERTS/nodes/$name/ca.pem"
			--tlscert "$CERTS/nodes/$name/cert.pem" --tlskey "$CERTS/nodes/$name/key.pem")
	else
		args+=(-H "tcp://$ip:$PLAIN_PORT" --tls=false)
	fi
	if [ "$labels" != - ]; then
		for l in ${labels//,/ }; do args+=(--label "$l"); done
	fi
	# nsenter + unshare instead of `ip netns exec`: the latter remounts /sys, and dockerd then
	# fails with "Devices cgroup isn't mounted". The private mount namespace lets us give each
	# engine its own /etc/docker (own key.json, so its own engine ID) and its own, empty
	# /run/containerd, so dockerd supervises its own containerd even when the host runs one.
	# setsid detaches it from the caller's session; exec keeps $! equal to dockerd's PID.
	# shellcheck disable=SC2016
	setsid nsenter --net="/var/run/netns/$NS_PREFIX$name" unshare --mount --uts sh -c '
		set -e
		hostname "$1"
		mount --make-rprivate /
		mount --bind "$2/etc" /etc/docker
		mkdir -p /run/containerd
		mount -t tmpfs -o mode=0711 swarmlab /run/containerd
		shift 2
		exec dockerd "$@"' sh "$name" "$dir" "${args[@]}" \
		</dev/null >>"$dir/dockerd.log" 2>&1 9>&- &
	echo $! >"$dir/launcher.pid"
}

# wait_engine NAME IP: bounded wait until the engine answers /_ping.
wait_engine() {
	local name=$1 ip=$2 i dir port
	dir=$(node_dir "$name")
	port=$(engine_port)
	for ((i = 0; i < PING_TIMEOUT * 5; i++)); do
		if ping_engine "$ip"; then
			return 0
		fi
		if ! alive "$(pid_from "$dir/launcher.pid")" dockerd; then
			log "engine $name ($ip:$port): dockerd exited; last lines of $dir/dockerd.log:"
			tail -n 25 "$dir/dockerd.log" >&2 || true
			return 1
		fi
		sleep 0.2
	done
	log "engine $name ($ip:$port) did not answer /_ping within ${PING_TIMEOUT}s; last lines of $dir/dockerd.log:"
	tail -n 25 "$dir/dockerd.log" >&2 || true
	return 1
}

# stop_engine NAME INDEX: stop dockerd (it stops its containers and containerd), then anything
# left in its namespace or its cgroups, by PID.
stop_engine() {
	local name=$1 idx=$2 dir xr pid p
	dir=$(node_dir "$name")
	xr=$(exec_root "$name" "$idx")
	for pid in $(pid_from "$xr/docker.pid") $(pid_from "$dir/launcher.pid"); do
		stop_pid "$pid" dockerd 20
	done
	pid=$(pid_from "$xr/containerd/containerd.pid")
	stop_pid "$pid" containerd 5
	# Shims and docker-proxy run in the engine's namespace; containers in its cgroups.
	if [ -e "/var/run/netns/$NS_PREFIX$name" ]; then
		for p in $(ip netns pids "$NS_PREFIX$name" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
	fi
	kill_cgroup "/$CGROUP_PREFIX$name"
	rm -f "$xr/docker.pid" "$dir/launcher.pid"
}

# kill_cgroup PATH: SIGKILL every process in PATH (any hierarchy) and remove its cgroups.
kill_cgroup() {
	local rel=$1 d p
	for d in /sys/fs/cgroup/pids"$rel" /sys/fs/cgroup"$rel" /sys/fs/cgroup/unified"$rel"; do
		[ -d "$d" ] || continue
		for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null || true
		done
	done
	for d in /sys/fs/cgroup/*"$rel" /sys/fs/cgroup"$rel"; do
		[ -d "$d" ] || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[ -d "$d" ] || break
			sleep 0.2
		done
	done
}

# ---------- registry ----------

registry_up() {
	local dir=$STATE/registry data=$STATE/cache/registry i
	mkdir -p "$dir" "$data"
	cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $data
  delete:
    enabled: true
http:
  addr: $REGISTRY
  secret: swarmlab-not-secret
EOF
	setsid docker-registry serve "$dir/config.yml" </dev/null >>"$dir/registry.log" 2>&1 9>&- &
	echo $! >"$dir/registry.pid"
	for ((i = 0; i < 100; i++)); do
		curl -fsS --max-time 1 "http://$REGISTRY/v2/" >/dev/null 2>&1 && return 0
		alive "$!" docker-registry || break
		sleep 0.1
	done
	tail -n 20 "$dir/registry.log" >&2 || true
	die "registry did not answer on http://$REGISTRY/v2/"
}

# ---------- teardown ----------

# teardown removes everything an earlier run made, found by pid files, names and mounts.
teardown() {
	local name ip labels idx=0 ns l m
	if [ -f "$STATE/nodes.txt" ]; then
		while read -r name ip labels; do
			idx=$((idx + 1))
			stop_engine "$name" "$idx" &
		done <"$STATE/nodes.txt"
		wait
	fi
	stop_pid "$(pid_from "$STATE/registry/registry.pid")" docker-registry 5
	# Leftovers whose state was lost: our namespaces, veths and bridge by name.
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NS_PREFIX" || true); do
		for l in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$l" 2>/dev/null || true; done
		kill_cgroup "/$CGROUP_PREFIX${ns#"$NS_PREFIX"}"
		ip netns del "$ns" 2>/dev/null || true
	done
	for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^${VETH_PREFIX}[0-9]" || true); do
		ip link del "$l" 2>/dev/null || true
	done
	ip link del "$BRIDGE" 2>/dev/null || true
	while iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
	# Mounts below the state dir (normally none leak out of the engines' mount namespaces).
	for m in $(awk -v s="$STATE/" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	if [ -d "$STATE" ]; then
		find "$STATE" -mindepth 1 -maxdepth 1 ! -name cache ! -name .swarmlab -exec rm -rf {} +
	fi
}

# ---------- images ----------

# build_rootfs OUT.tar: a root filesystem of /bin/busybox and its applet links.
build_rootfs() {
	local out=$1 root a
	root=$(mktemp -d "$STATE/rootfs.XXXXXX")
	mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root" "$root/www/cgi-bin" "$root/var/run"
	chmod 1777 "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		# The applet named busybox would replace the binary with a link to itself.
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	# The counter: busybox httpd runs /cgi-bin/index.cgi when a directory has no index.html.
	cat >"$root/www/cgi-bin/index.cgi" <<'EOF'
#!/bin/sh
n=$(( $(cat /tmp/count 2>/dev/null || echo 0) + 1 ))
echo "$n" >/tmp/count
# Log each hit to the container's output (PID 1's stdout), so `docker logs -f` shows it.
echo "${REMOTE_ADDR:-?} GET ${REQUEST_URI:-/} -> counter $n" >/proc/1/fd/1 2>/dev/null || true
printf 'Content-Type: text/plain\r\n\r\n'
echo "counter $n on $(hostname)"
[ -n "${REDIS_URL:-}" ] && echo "redis: $REDIS_URL"
[ -n "${POSTGRES_URL:-}" ] && echo "postgres: $POSTGRES_URL"
exit 0
EOF
	# Stand-ins for the walkthrough's services: a TCP listener on the service's port that stops
	# at once on SIGTERM (a PID 1 without a handler ignores it, so `docker stop` would wait 10 s).
	cat >"$root/entrypoint.sh" <<'EOF'
#!/bin/sh
case "${1:-}" in
redis | redis-server) port=6379 ;;
postgres) port=5432 ;;
*) port=${PORT:-80} ;;
esac
trap 'exit 0' TERM INT
echo "${1:-service} listening on port $port"
httpd -f -p "$port" -h /www &
wait
EOF
	mkdir -p "$root/app"
	printf '#!/bin/sh\nexec /entrypoint.sh counter "$@"\n' >"$root/counter-linux"
	ln -s entrypoint.sh "$root/docker-entrypoint.sh"
	ln -s ../entrypoint.sh "$root/app/docker-entrypoint.sh"
	chmod 755 "$root/www/cgi-bin/index.cgi" "$root/entrypoint.sh" "$root/counter-linux"
	tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$out" .
	rm -rf "$root"
}

# import_image IP TAG CHANGE...: import the rootfs into one engine with Dockerfile-like changes.
import_image() {
	local ip=$1 tag=$2 c args=()
	shift 2
	for c in "$@"; do args+=(--change "$c"); done
	engine_docker "$ip" import "${args[@]}" - "$tag" <"$STATE/cache/rootfs-$KEY.tar" >/dev/null
}

# ensure_images IP builds the image tarball (cached by busybox binary and recipe) on the first
# engine, loads it into every engine and makes sure the registry holds every image.
ensure_images() {
	local first=$1 ip tarball tmp pids=() pid
	KEY=$( (sha256sum /bin/busybox; echo "recipe $RECIPE") | sha256sum | cut -c1-16)
	tarball=$STATE/cache/images-$KEY.tar
	mkdir -p "$STATE/cache"
	[ -f "$STATE/cache/rootfs-$KEY.tar" ] || build_rootfs "$STATE/cache/rootfs-$KEY.tar"
	if [ ! -f "$tarball" ]; then
		log "building images (cached in $tarball)"
		local env='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
		import_image "$first" busybox "$env" 'CMD ["sh"]'
		import_image "$first" redis "$env" 'EXPOSE 6379/tcp' 'CMD ["/entrypoint.sh","redis"]'
		import_image "$first" postgres "$env" 'EXPOSE 5432/tcp' 'CMD ["/docker-entrypoint.sh","postgres"]'
		import_image "$first" counter "$env" 'WORKDIR /www' 'EXPOSE 80/tcp' 'CMD ["/counter-linux"]'
		engine_docker "$first" tag counter andersjanmyr/counter
		import_image "$first" jwilder/nginx-proxy "$env" 'WORKDIR /www' 'EXPOSE 80/tcp' 'EXPOSE 443/tcp' \
			'CMD ["/app/docker-entrypoint.sh","forego","start","-r"]'
		tmp=$(mktemp "$tarball.XXXXXX")
		engine_docker "$first" save -o "$tmp" busybox redis postgres counter andersjanmyr/counter jwilder/nginx-proxy
		mv "$tmp" "$tarball"
		# Drop tarballs of older recipes or busybox builds.
		find "$STATE/cache" -maxdepth 1 \( -name 'images-*.tar' -o -name 'rootfs-*.tar' \) \
			! -name "*-$KEY.tar" -delete
	fi
	for ip in $(awk '{print $2}' "$STATE/nodes.txt"); do
		engine_docker "$ip" load -q -i "$tarball" >/dev/null &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do wait "$pid" || die "loading $tarball into an engine failed"; done
	[ "$(cat "$STATE/cache/registry/pushed" 2>/dev/null)" = "$KEY" ] || push_images "$first"
}

# push_images pushes every image to the registry as REGISTRY/library/NAME (and the two
# user repositories), plus hello-world, which lives only in the registry so that the first
# `docker run hello-world` on any engine shows a real pull.
push_images() {
	local first=$1 img r
	log "pushing images to $REGISTRY"
	import_image "$first" "$REGISTRY/library/hello-world" 'CMD ["echo","Hello from Docker!"]'
	for img in busybox redis postgres counter andersjanmyr/counter jwilder/nginx-proxy; do
		case $img in */*) r=$REGISTRY/$img ;; *) r=$REGISTRY/library/$img ;; esac
		engine_docker "$first" tag "$img" "$r"
	done
	for img in busybox redis postgres counter andersjanmyr/counter jwilder/nginx-proxy hello-world; do
		case $img in */*) r=$REGISTRY/$img ;; *) r=$REGISTRY/library/$img ;; esac
		engine_docker "$first" push -q "$r" >/dev/null || die "pushing $r failed; see $STATE/registry/registry.log"
		engine_docker "$first" rmi "$r" >/dev/null
	done
	echo "$KEY" >"$STATE/cache/registry/pushed"
}

# ---------- commands ----------

cmd_up() {
	local n=4 mode=plain t0 name ip labels idx=0 pids=() pid
	while [ $# -gt 0 ]; do
		case $1 in
		--nodes)
			[ $# -ge 2 ] || die "--nodes needs a number, e.g. --nodes 6"
			n=$2
			shift 2
			;;
		--nodes=*) n=${1#--nodes=} && shift ;;
		--tls) mode=tls && shift ;;
		*) die "up: unknown argument '$1'; usage: lab.sh up [--nodes N] [--tls]" ;;
		esac
	done
	case $n in '' | *[!0-9]*) die "--nodes wants a whole number from 1 to 200, got '$n'" ;; esac
	[ "$n" -ge 1 ] && [ "$n" -le 200 ] || die "--nodes wants a whole number from 1 to 200, got '$n'"
	t0=$(date +%s.%N)
	install_missing
	teardown
	mkdir -p "$STATE/nodes" "$STATE/x" "$STATE/cache"
	touch "$STATE/.swarmlab"
	node_table "$n" >"$STATE/nodes.txt"
	echo "$mode" >"$STATE/mode"
	awk -v p="$(engine_port)" '{print $2 ":" p}' "$STATE/nodes.txt" >"$STATE/engines.txt"
	[ "$mode" = tls ] && certs_up
	net_up
	registry_up
	while read -r name ip labels; do
		idx=$((idx + 1))
		node_net_up "$name" "$ip" "$idx"
		start_engine "$name" "$ip" "$idx" "$labels"
	done <"$STATE/nodes.txt"
	while read -r name ip labels; do
		wait_engine "$name" "$ip" &
		pids+=($!)
	done <"$STATE/nodes.txt"
	for pid in "${pids[@]}"; do wait "$pid" || die "an engine did not start; the lab is left as is for inspection (lab.sh down cleans it)"; done
	ensure_images "$(awk 'NR==1 {print $2}' "$STATE/nodes.txt")"
	log "up: $n $mode engines in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')s"
	cmd_status
}

cmd_down() {
	local purge=
	case ${1:-} in
	'') ;;
	--purge) purge=1 ;;
	*) die "down: unknown argument '$1'; usage: lab.sh down [--purge]" ;;
	esac
	teardown
	[ -n "$purge" ] && [ -e "$STATE/.swarmlab" ] && rm -rf "$STATE"
	log "down"
}

# bridge_up tells whether the lab's bridge exists. Without it, 10.77.0.x would be sent out of
# the default route to some other network, so nothing may contact an engine then.
bridge_up() { ip link show "$BRIDGE" >/dev/null 2>&1; }

cmd_status() {
	local name ip labels state rc=0 port
	if [ ! -f "$STATE/nodes.txt" ] || ! bridge_up; then
		echo "lab is down"
		return 3
	fi
	port=$(engine_port)
	[ "$(lab_mode)" = tls ] && echo "TLS mode: engines verify clients; certificates in $CERTS"
	printf '%-14s %-18s %-6s %s\n' NAME ADDRESS STATE LABELS
	while read -r name ip labels; do
		if ping_engine "$ip" 2; then state=up; else state=down rc=1; fi
		printf '%-14s %-18s %-6s %s\n' "$name" "$ip:$port" "$state" "$labels"
	done <"$STATE/nodes.txt"
	if curl -fsS --max-time 2 "http://$REGISTRY/v2/" >/dev/null 2>&1; then state=up; else state=down rc=1; fi
	printf '%-14s %-18s %-6s %s\n' registry "$REGISTRY" "$state" mirror
	return "$rc"
}

cmd_env() {
	nodes >/dev/null
	echo "LAB_STATE=$STATE"
	echo "LAB_BRIDGE_IP=$BRIDGE_IP"
	echo "LAB_REGISTRY=$REGISTRY"
	echo "LAB_MODE=$(lab_mode)"
	if [ "$(lab_mode)" = tls ]; then
		echo "LAB_CERTS=$CERTS"
	fi
	echo "LAB_ENGINES_FILE=$STATE/engines.txt"
	echo "LAB_ENGINES=$(paste -sd, "$STATE/engines.txt")"
	echo "LAB_NODES=$(awk '{printf "%s%s", (NR > 1 ? "," : ""), $1}' "$STATE/nodes.txt")"
}

cmd_stop_engine() {
	[ $# -eq 1 ] || die "usage: lab.sh stop-engine NAME"
	load_node "$1"
	stop_engine "$N_NAME" "$N_IDX"
	log "stopped engine $N_NAME"
}

cmd_start_engine() {
	[ $# -eq 1 ] || die "usage: lab.sh start-engine NAME"
	load_node "$1"
	local name=$N_NAME ip=$N_IP labels=$N_LABELS idx=$N_IDX
	bridge_up || die "the lab is down (no bridge $BRIDGE); run: $0 up"
	if ping_engine "$ip"; then
		log "engine $name already answers on $ip:$(engine_port)"
		return 0
	fi
	stop_engine "$name" "$idx"
	start_engine "$name" "$ip" "$idx" "$labels"
	wait_engine "$name" "$ip" || die "engine $name did not come back"
	log "started engine $name"
}

# cmd_signal_engine SIGNAL NAME: freeze or thaw one engine's dockerd by PID.
cmd_signal_engine() {
	local sig=$1 name pid
	shift
	[ $# -eq 1 ] || die "usage: lab.sh freeze-engine|thaw-engine NAME"
	load_node "$1"
	name=$N_NAME
	pid=$(pid_from "$(exec_root "$name" "$N_IDX")/docker.pid")
	alive "$pid" dockerd || die "engine $name is not running (no live dockerd in its pid file)"
	kill "-$sig" "$pid"
	log "sent SIG$sig to engine $name (dockerd pid $pid)"
}

main() {
	[ $# -ge 1 ] || usage
	local cmd=$1
	shift
	case $cmd in
	-h | --help | help) usage ;;
	status | env) ;;
	up | down | stop-engine | start-engine | freeze-engine | thaw-engine) need_root "$cmd" ;;
	*) echo "lab: unknown command '$cmd'" >&2 && usage ;;
	esac
	check_state_dir
	# One lab command at a time: they all rewrite the same namespaces and state.
	if [ "$cmd" != status ] && [ "$cmd" != env ]; then
		exec 9>"/run/swarmlab.lock"
		flock -w 120 9 || die "another lab.sh is still running (lock /run/swarmlab.lock)"
	fi
	case $cmd in
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	status) cmd_status ;;
	env) cmd_env ;;
	stop-engine) cmd_stop_engine "$@" ;;
	start-engine) cmd_start_engine "$@" ;;
	freeze-engine) cmd_signal_engine STOP "$@" ;;
	thaw-engine) cmd_signal_engine CONT "$@" ;;
	esac
}

main "$@"
