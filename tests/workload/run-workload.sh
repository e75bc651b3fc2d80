#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The workload suite for one kernel: boot RELEASE with the module and
# tests/workload/workload.sh (run-vm.sh --run, with the PostgreSQL and
# PHP-FPM files of files.txt), and print TAP: the script's results, then
# whether the VM finished with a clean kernel log and the module unloaded.
#
#   run-workload.sh [--logdir DIR] [--mem SIZE] [--vm-timeout S]
#                   [--env NAME=VALUE]... [--measure FILE]
#                   RELEASE MODULE.ko BIN...
#     --measure FILE   also write the measurement lines ("PART RUN KEY
#                      VALUE") there (bench/workload.sh reads them)
#   BINs: mshare, libmshare-preload.so, mshare-runas.
#   Defaults: --mem 5G (shared_buffers of 1 GiB and 64 backends with their
#   own page tables), --vm-timeout 3600 (times the kernel's slowdown).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
vm=$here/../vm
logdir='' mem=5G vmt='' measure=''
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--logdir) logdir=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--vm-timeout) vmt=$2; shift 2 ;;
	--env) args+=(--env "$2"); shift 2 ;;
	--measure) measure=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "run-workload.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 2 ] || { echo "usage: $0 [options] RELEASE MODULE.ko BIN..." >&2; exit 2; }
release=$1
slowdown=$("$vm/kernels.sh" slowdown "$release" 2>/dev/null) || slowdown=1
[ -n "$vmt" ] || vmt=$((3600 * slowdown))
[ -n "$logdir" ] || logdir=$(mktemp -d "${TMPDIR:-/tmp}/mshare-workload.XXXXXX")
mkdir -p "$logdir"
out=$logdir/workload.out

start=$(date +%s)
"$vm/run-vm.sh" --run "$here/workload.sh" --output "$out" --mem "$mem" \
	--vm-timeout "$vmt" --logdir "$logdir" --files "$here/files.txt" \
	"${args[@]}" "$@" 2>"$logdir/workload.err"
rc=$?
secs=$(($(date +%s) - start))

n=0 failed=0
while IFS= read -r line; do
	case $line in
	"ok - "* | "not ok - "*)
		n=$((n + 1))
		case $line in "not ok"*) failed=$((failed + 1)) ;; esac
		printf '%s\n' "$line" | sed -E "s/^(ok|not ok) - /\1 $n - /"
		;;
	"# M "*) printf '%s\n' "$line" ;;
	esac
done < <(tr -d '\r' <"$out")
if [ -n "$measure" ]; then
	tr -d '\r' <"$out" | sed -n 's/^# M //p' >"$measure"
fi
n=$((n + 1))
if [ $rc -eq 0 ]; then
	echo "ok $n - $release: VM finished, kernel log clean, module unloaded ($secs s)"
else
	echo "not ok $n - $release: VM or kernel log (run-vm.sh exit status $rc, $secs s)"
	tail -n 40 "$logdir/workload.err" | sed 's/^/# /'
	failed=$((failed + 1))
fi
[ $n -gt 1 ] || { echo "not ok $((n + 1)) - $release: the workload printed no result"; n=$((n + 1)); failed=$((failed + 1)); }
echo "1..$n"
echo "# $release: workload ran $secs s; logs in $logdir (workload.err: progress)"
if [ $failed -gt 0 ]; then
	grep -E '^not ok' "$out" >&2
	echo "run-workload.sh: $failed failed; $logdir/workload.err, $logdir/console.log" >&2
	exit 1
fi
exit 0
