#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run mshare-hugebench in the VM, once per kernel release that has
# transparent huge pages, and write the results (markdown) to bench/HUGE.md
# and stdout.
#
#   bench/huge.sh [options] [RELEASE...]
#     RELEASE...          kernels to boot (default: every non-RT, non-debug
#                         release of tests/vm/kernels.sh list; PREEMPT_RT kernels
#                         have no 2 MiB pages for shmem)
#     --args "ARGS"       mshare-hugebench arguments (default: $DEFAULT_ARGS)
#     --mem SIZE          VM memory (default 4G)
#     --out FILE          results file (default bench/HUGE.md; - = none)
#     --workdir DIR       build products and VM logs (default: a new
#                         directory under ${TMPDIR:-/tmp})
#
# The module is built from module/ as it is now, by module/build.sh.
set -euo pipefail

DEFAULT_ARGS='-s 512M -r 9 -a 2000000'

top=$(cd "$(dirname "$0")/.." && pwd)
# The module's MODULE_VERSION (module/build.sh), from meson.build as
# module/Makefile reads it.
version=$(make -s -C "$top/module" version)
cmdline=bench/huge.sh
[ $# -eq 0 ] || cmdline+=$(printf ' %q' "$@")
args='' mem=4G out=$top/bench/HUGE.md workdir=''
while [ $# -gt 0 ]; do
	case $1 in
	--args) args=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--workdir) workdir=$2; shift 2 ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "huge.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
args=${args:-$DEFAULT_ARGS}
if [ $# -gt 0 ]; then
	releases=("$@")
else
	mapfile -t releases < <("$top/tests/vm/kernels.sh" list | grep -v -e '-rt-' -e 'debug')
fi
[ ${#releases[@]} -gt 0 ] || { echo "huge.sh: no kernel release to run (tools/setup)" >&2; exit 1; }
workdir=${workdir:-$(mktemp -d "${TMPDIR:-/tmp}/mshare-hugebench.XXXXXX")}
mkdir -p "$workdir"
say() { echo "huge.sh: $*" >&2; }

bin=$workdir/mshare-hugebench
cc -std=gnu11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror -I"$top/include/uapi" \
	-o "$bin" "$top/bench/mshare-hugebench.c"
script=$workdir/hugebench-vm.sh
printf '#!/bin/sh\nexec mshare-hugebench %s\n' "$args" >"$script"

tree=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$top" status --porcelain -- module 2>/dev/null)" ] ||
	tree="$tree with uncommitted changes in module/"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
sections=()
failed=0
for rel in "${releases[@]}"; do
	ko=$workdir/msharefs-$rel.ko
	say "building msharefs.ko for $rel"
	"$top/module/build.sh" "$("$top/tests/vm/kernels.sh" kdir "$rel")" "$ko" \
		"$top/module" "$top/include/uapi" "$workdir/kbuild-$rel" "$version"
	say "booting $rel: mshare-hugebench $args"
	rc=0
	"$top/tests/vm/run-vm.sh" --run "$script" --output "$workdir/out-$rel.md" \
		--mem "$mem" --smp 2 --vm-timeout 3000 --logdir "$workdir/vm-$rel" \
		"$rel" "$ko" "$bin" || rc=$?
	section=$workdir/section-$rel.md
	{
		echo "## Kernel $rel"
		echo
		if [ $rc = 0 ]; then
			cat "$workdir/out-$rel.md"
		else
			failed=1
			echo "**The run failed** (run-vm.sh exit status $rc):"
			echo
			echo '```'
			cat "$workdir/out-$rel.md"
			echo '```'
		fi
		echo
	} >"$section"
	sections+=("$section")
done

results=$workdir/HUGE.md
{
	echo "# Random access with 4 KiB and 2 MiB pages"
	echo
	echo "Made by \`$cmdline\` on $(date -u '+%Y-%m-%d %H:%M UTC'), tree $tree;"
	echo "host load average when it began: $load0 ($(nproc) CPUs)."
	echo "VM: QEMU TCG (no KVM), 2 vCPUs, $mem; one boot per kernel runs"
	echo "\`mshare-hugebench $args\` (method: the comment at the top of"
	echo "\`bench/mshare-hugebench.c\`; under TCG, TLB effects are QEMU's, not a CPU's)."
	echo
	cat "${sections[@]}"
} >"$results"
cat "$results"
[ "$out" = - ] || { cp "$results" "$out"; say "wrote $out"; }
exit $failed
