#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# PostgreSQL 15 and PHP-FPM 8.2, plainly and under `mshare run`, in the VM
# (tests/workload: the workload suite with measurement-sized knobs), once
# per kernel; print the tables and put them in bench/RESULTS.md (the
# section between "<!-- workload: begin -->" and "<!-- workload: end -->",
# which bench/run.sh keeps).
#
#   bench/workload.sh [options] [RELEASE...]
#     RELEASE...        kernels (default: the 6.1 and 6.12 releases of
#                       tests/vm/kernels.sh list)
#     --builddir DIR    a meson build (-Dtests=true, the module built for
#                       the releases): default ./build
#     --rounds N        plain and mshare-run runs alternate N times (3);
#                       the tables show medians
#     --env NAME=VALUE  a knob of tests/workload/workload.sh (WL_STORM=...)
#     --out FILE        results file (default bench/RESULTS.md; - = none)
#     --workdir DIR     VM logs and measurements (default: a new directory
#                       under ${TMPDIR:-/tmp})
#     --wait-idle LOAD  before each boot, wait (up to 30 min) until the
#                       host's 1-minute load average is below LOAD
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cmdline=bench/workload.sh
[ $# -eq 0 ] || cmdline+=$(printf ' %q' "$@")
builddir=$top/build rounds=3 out=$top/bench/RESULTS.md workdir='' wait_idle=''
envs=()
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$(cd "$2" && pwd); shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--env) envs+=(--env "$2"); shift 2 ;;
	--out) out=$2; shift 2 ;;
	--workdir) workdir=$2; shift 2 ;;
	--wait-idle) wait_idle=$2; shift 2 ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "workload.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
say() { echo "bench/workload.sh: $*" >&2; }

releases=("$@")
if [ ${#releases[@]} -eq 0 ]; then
	for rel in $("$top/tests/vm/kernels.sh" list); do
		case $("$top/tests/vm/kernels.sh" series-of "$rel") in
		6.1 | 6.12) releases+=("$rel") ;;
		esac
	done
fi
[ ${#releases[@]} -gt 0 ] || { say "no kernel (tools/setup)"; exit 1; }
[ -n "$workdir" ] || workdir=$(mktemp -d "${TMPDIR:-/tmp}/mshare-wl-bench.XXXXXX")
mkdir -p "$workdir"

bins=("$builddir/src/tool/mshare" "$builddir/src/preload/libmshare-preload.so"
	"$builddir/tests/workload/mshare-runas")
for b in "${bins[@]}"; do
	[ -f "$b" ] || { say "$b missing: meson compile -C $builddir (with -Dtests=true)"; exit 1; }
done

wait_for_idle() {
	local i
	for ((i = 0; i < 180; i++)); do
		awk -v max="$1" '{ exit !($1 < max) }' /proc/loadavg && return 0
		sleep 10
	done
	say "the host did not get below load $1 in 30 min; going on"
}

# median FILE PART RUN KEY: the median of that measurement, or "-".
median() {
	awk -v p="$2" -v r="$3" -v k="$4" '$1 == p && $2 == r && $3 == k { v[n++] = $4 }
		END {
			if (!n) { print "-"; exit }
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
			printf (m == int(m) ? "%d\n" : "%.1f\n"), m
		}' "$1"
}

# ratio A B: A / B with two significant decimals, or "-".
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b == 0) { print "-"; exit }
		r = a / b
		printf (r >= 10 ? "%.0f\n" : r >= 1 ? "%.2f\n" : "%.3f\n"), r
	}'
}

# rps N MS: requests per second.
rps() {
	awk -v n="$1" -v ms="$2" 'BEGIN { if (ms == "-" || !ms) print "-"; else printf "%.1f\n", n * 1000 / ms }'
}

# verdict COND: "yes" / "no" / "-" (awk condition on the numbers).
verdict() {
	awk "BEGIN { if ($1) print \"**yes**\"; else print \"no\" }" 2>/dev/null || echo -
}

table() { # table RELEASE MEASUREFILE SECS
	local rel=$1 m=$2 secs=$3 k p s c
	local -A P S
	for k in storm_ms storm_scan_ms backend_minflt backend_vmpte_kb \
		backend_vmpte_scan_kb pagetables_kb scan_cold_ms scan_warm_ms; do
		P[$k]=$(median "$m" pg plain "$k")
		S[$k]=$(median "$m" pg shim "$k")
	done
	echo "### PostgreSQL 15, kernel $rel"
	echo
	echo "shared_buffers $(awk '$1 == "pg" && $3 == "shared_buffers_mib" { print $4; exit }' "$m") MiB;" \
		"a storm of $(median "$m" pg plain backends) new connections, each reading a table that fills" \
		"85% of shared_buffers; medians of $rounds alternating rounds; VM ran $secs s."
	echo
	echo "| measure | plain | mshare run | plain / mshare run | target | met |"
	echo "|---|--:|--:|--:|---|---|"
	local ptr frr tr
	ptr=$(ratio "${P[backend_vmpte_scan_kb]}" "${S[backend_vmpte_scan_kb]}")
	echo "| page tables for shared_buffers, per backend (VmPTE growth over its scan, KiB) | ${P[backend_vmpte_scan_kb]} | ${S[backend_vmpte_scan_kb]} | ${ptr} | mshare run <= 1/100 of plain | $(verdict "${S[backend_vmpte_scan_kb]} * 100 <= ${P[backend_vmpte_scan_kb]}") |"
	echo "| VmPTE per backend after its scan (KiB; its own page tables included) | ${P[backend_vmpte_kb]} | ${S[backend_vmpte_kb]} | $(ratio "${P[backend_vmpte_kb]}" "${S[backend_vmpte_kb]}") | | |"
	echo "| /proc/meminfo PageTables growth, all backends alive after their scans (KiB) | ${P[pagetables_kb]} | ${S[pagetables_kb]} | $(ratio "${P[pagetables_kb]}" "${S[pagetables_kb]}") | | |"
	tr=$(ratio "${P[storm_ms]}" "${S[storm_ms]}")
	echo "| connection storm, wall time (ms) | ${P[storm_ms]} | ${S[storm_ms]} | ${tr}x faster | >= 3x faster | $(verdict "${P[storm_ms]} >= 3 * ${S[storm_ms]}") |"
	frr=$(ratio "${P[backend_minflt]}" "${S[backend_minflt]}")
	echo "| connection storm, minor faults per backend | ${P[backend_minflt]} | ${S[backend_minflt]} | ${frr}x fewer | >= 10x fewer | $(verdict "${P[backend_minflt]} >= 10 * ${S[backend_minflt]}") |"
	echo "| one connection, first scan of the table (ms) | ${P[scan_cold_ms]} | ${S[scan_cold_ms]} | $(ratio "${P[scan_cold_ms]}" "${S[scan_cold_ms]}")x | | |"
	echo "| one connection, second scan: no page table to build, the floor (ms) | ${P[scan_warm_ms]} | ${S[scan_warm_ms]} | $(ratio "${P[scan_warm_ms]}" "${S[scan_warm_ms]}")x | | |"
	for mode in select tpcb; do
		for c in $(awk -v mo="$mode" '$1 == "pg" && $2 == "plain" && index($3, "tps_" mo "_") == 1 { sub("tps_" mo "_", "", $3); print $3 }' "$m" | sort -n -u); do
			p=$(median "$m" pg plain "tps_${mode}_$c")
			s=$(median "$m" pg shim "tps_${mode}_$c")
			echo "| pgbench $([ $mode = select ] && echo select-only || echo TPC-B-like), $c clients (tps) | $p | $s | $(ratio "$s" "$p") (mshare run / plain) | no regression beyond noise | |"
		done
	done
	echo
	echo "### PHP-FPM 8.2 with opcache, kernel $rel"
	echo
	echo "$(median "$m" php plain workers) workers (pm = static), opcache.memory_consumption=256; every worker served requests" \
		"that walk $(awk '$1 == "php" && $3 == "files" { print $4; exit }' "$m") cached PHP files; medians of $rounds rounds."
	echo
	echo "| measure | plain | mshare run | plain / mshare run |"
	echo "|---|--:|--:|--:|"
	for k in worker_vmpte_kb worker_minflt pagetables_kb; do
		p=$(median "$m" php plain "$k")
		s=$(median "$m" php shim "$k")
		case $k in
		worker_vmpte_kb) d="VmPTE per worker (KiB)" ;;
		worker_minflt) d="minor faults per worker" ;;
		pagetables_kb) d="/proc/meminfo PageTables growth, master and workers (KiB)" ;;
		esac
		echo "| $d | $p | $s | $(ratio "$p" "$s") |"
	done
	p=$(median "$m" php plain requests_ms)
	s=$(median "$m" php shim requests_ms)
	n=$(median "$m" php plain requests)
	p=$(rps "$n" "$p")
	s=$(rps "$n" "$s")
	echo "| requests/s ($n requests, 8 at a time, cgi-fcgi) | $p | $s | $(ratio "$s" "$p") (mshare run / plain) |"
	echo
}

results=$workdir/RESULTS-workload.md
{
	echo "<!-- workload: begin -->"
	echo "## Unmodified programs: PostgreSQL and PHP-FPM"
	echo
	echo "Made by \`$cmdline\` on $(date -u '+%Y-%m-%d %H:%M UTC'), tree $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?');"
	echo "Debian 12's postgresql-15 $(dpkg-query -W -f '${Version}' postgresql-15 2>/dev/null || echo '?')"
	echo "and php8.2-fpm $(dpkg-query -W -f '${Version}' php8.2-fpm 2>/dev/null || echo '?'), run by \`tests/workload/workload.sh\`"
	echo "in the VM (QEMU TCG, 2 vCPUs, 5G), plainly and under \`mshare run\` in the same boot."
	echo "TCG times are relative: compare the two columns of one table only."
	echo
} >"$results"

for rel in "${releases[@]}"; do
	ko=$builddir/module/msharefs-$rel.ko
	[ -f "$ko" ] || { say "$ko missing (-Dlive_kernels=$rel)"; exit 1; }
	[ -z "$wait_idle" ] || wait_for_idle "$wait_idle"
	say "$rel: booting (rounds $rounds)"
	start=$(date +%s)
	"$top/tests/workload/run-workload.sh" --logdir "$workdir/vm-$rel" \
		--measure "$workdir/measure-$rel.txt" --env "WL_ROUNDS=$rounds" \
		"${envs[@]}" "$rel" "$ko" "${bins[@]}" >"$workdir/tap-$rel.txt" || {
		say "$rel: the workload failed:"
		grep -E '^not ok' "$workdir/tap-$rel.txt" >&2 || true
		exit 1
	}
	table "$rel" "$workdir/measure-$rel.txt" $(($(date +%s) - start)) | tee -a "$results"
done
echo "<!-- workload: end -->" >>"$results"

if [ "$out" != - ]; then
	if [ -f "$out" ] && grep -q '^<!-- workload: begin -->' "$out"; then
		awk -v f="$results" '
			/^<!-- workload: begin -->/ { while ((getline l < f) > 0) print l; skip = 1; next }
			/^<!-- workload: end -->/ { skip = 0; next }
			!skip' "$out" >"$out.new"
	else
		{ [ -f "$out" ] && cat "$out" && echo; cat "$results"; } >"$out.new"
	fi
	mv "$out.new" "$out"
	say "wrote $out"
fi
