#!/usr/bin/env bash
# CPU accounting for one bench command: runs "$@" while reading every process's CPU time
# (utime + stime from /proc, every 0.2 s), then prints the CPU seconds each role used while it
# ran: herald (every Herald process), baseline-worker, receiver, bench+publisher, postgres,
# redis, other (this sampler included). Linux only.
#
#   bench/cpu-by-role.sh npm run bench -- --workloads a --modes one --contenders herald-sqlite \
#     --runs 1 --messages 60000
#
# Divide by the messages (warm-up included) for CPU per message. The sampler costs some CPU
# itself, so the run's own rates come out lower than in a suite run.
set -euo pipefail

samples=$(mktemp)
first=$(mktemp)
trap 'rm -f "$samples" "$first"' EXIT

snapshot() {
  for stat in /proc/[0-9]*/stat; do
    local pid=${stat#/proc/}
    pid=${pid%/stat}
    local line
    read -r line <"$stat" 2>/dev/null || continue
    # Fields after the command name: utime and stime are the 12th and 13th.
    # shellcheck disable=SC2086
    set -- ${line##*) }
    echo "$pid $((${12} + ${13})) $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-200)"
  done
}

snapshot >"$first"
(while true; do
  snapshot >>"$samples"
  sleep 0.2
done) &
sampler=$!
status=0
"$@" || status=$?
kill "$sampler"
wait "$sampler" 2>/dev/null || true

awk -v tck="$(getconf CLK_TCK)" '
  FNR == NR { before[$1] = $2; next }
  {
    pid = $1; ticks = $2; $1 = ""; $2 = ""; args = $0; role = "other"
    if (args ~ /bin\/herald\.js/) role = "herald"
    else if (args ~ /receiver\.ts/) role = "receiver"
    else if (args ~ /baselines\//) role = "baseline-worker"
    else if (args ~ /bench\/run\.ts/) role = "bench+publisher"
    else if (args ~ /postgres/) role = "postgres"
    else if (args ~ /redis/) role = "redis"
    if (ticks > last[pid]) last[pid] = ticks
    roleOf[pid] = role
  }
  END {
    for (pid in last) used[roleOf[pid]] += last[pid] - before[pid]
    for (role in used) printf "%-16s %7.2f s\n", role, used[role] / tck
  }' "$first" "$samples" | sort
exit "$status"
