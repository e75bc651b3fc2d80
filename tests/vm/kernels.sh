#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Kernel releases for the live suite and where their images are cached.
#
#   kernels.sh list [RELEASE...]   releases to test, one per line: the
#                                  arguments if any (meson option
#                                  live_kernels), else one release per
#                                  kernel series (see `series`) that is
#                                  there: headers under /usr/src, or for
#                                  the debug kernel a current build
#   kernels.sh series              the default matrix, one series a line:
#                                  NAME SOURCE APT-TARGET-RELEASE; SOURCE is
#                                  a headers meta package (tools/setup
#                                  installs it, with apt-get -t TARGET
#                                  unless it is -) or debug-kernel.sh (built
#                                  by tests/vm/debug-kernel.sh)
#   kernels.sh missing             the series `list` finds no release for,
#                                  as NAME<tab>WHY, none if complete
#   kernels.sh image RELEASE       path of the cached vmlinuz; fails if missing
#   kernels.sh modules RELEASE     the cached extra modules for RELEASE (see
#                                  `extra-modules`), one path a line; each one
#                                  missing is reported on stderr, status 1
#   kernels.sh extra-modules       modules taken from the image package and
#                                  put in the VM as /lib/<name>.ko, as paths
#                                  under kernel/ without .ko
#   kernels.sh kdir RELEASE        kernel build directory (headers) for RELEASE
#   kernels.sh slowdown RELEASE    about how many times slower than Debian's
#                                  generic kernels RELEASE runs the storms:
#                                  6 for the debug kernel, 2 for the RT
#                                  kernels, else 1 (run-vm.sh scales its
#                                  default timeouts by it and passes it to
#                                  the tests as MSHARE_SLOWDOWN)
#   kernels.sh cache-dir           the image cache directory
#
# Images are fetched by tools/setup into
# ${XDG_CACHE_HOME:-$HOME/.cache}/libmshare/kernels/<release>/vmlinuz, the
# extra modules (decompressed) next to it as <name>.ko; a module the package
# does not have is listed with the reason in <release>/missing-modules.
# The debug kernel is built there too, its tree (the KDIR) in
# <release>/build (see debug-kernel.sh).
# (LIBMSHARE_KERNEL_CACHE overrides the directory.)
set -eu

# The default matrix: Debian 12's own kernel (6.1, through
# linux-headers-amd64) and 6.12 (linux-headers-6.12-amd64, installed with
# -t bookworm-backports; apt takes it from bookworm-security when that has
# the newer one), the PREEMPT_RT flavour of both (same source packages and
# releases, -rt-amd64), and the debug kernel built from linux-source-6.1
# (debug-kernel.sh: KASAN, lockdep, kmemleak...).  The release of a
# packaged series is the one its meta package depends on; without the meta
# package, the newest headers of the series (and flavour) under /usr/src.
SERIES='6.1 linux-headers-amd64 -
6.12 linux-headers-6.12-amd64 bookworm-backports
6.1-rt linux-headers-rt-amd64 -
6.12-rt linux-headers-6.12-rt-amd64 bookworm-backports
debug debug-kernel.sh -'

EXTRA_MODULES='drivers/block/brd'

# KASAN (inline), lockdep and kmemleak under TCG: the fork/fault storms ran
# 7-9 times slower than on 6.1.0-56-amd64, the other live tests 1.5-2 times.
DEBUG_SLOWDOWN=6
# PREEMPT_RT: live-stress-storm took 1.25-1.6 times as long as on the
# generic flavour (49 s against 39 s; 75-84 s against 47-65 s on a busy
# host), at or past its 82 s deadline.
RT_SLOWDOWN=2

cache_dir() {
	if [ -n "${LIBMSHARE_KERNEL_CACHE:-}" ]; then
		echo "$LIBMSHARE_KERNEL_CACHE"
	else
		echo "${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/libmshare/kernels"
	fi
}

here=$(cd "$(dirname "$0")" && pwd)

# series_release NAME META: e.g. 6.1 linux-headers-amd64 -> 6.1.0-56-amd64,
# 6.1-rt linux-headers-rt-amd64 -> 6.1.0-56-rt-amd64; nothing if missing.
series_release() {
	if [ "$2" = debug-kernel.sh ]; then
		"$here/debug-kernel.sh" status 2>/dev/null && "$here/debug-kernel.sh" release
		return 0
	fi
	case $1 in
	*-rt) ver=${1%-rt} flavour=rt-amd64 ;;
	*) ver=$1 flavour=amd64 ;;
	esac
	deps=$(dpkg-query -W -f='${Depends}' "$2" 2>/dev/null || true)
	for rel in $(printf '%s\n' "$deps" | tr ',|' '\n' |
		sed -n "s/^ *linux-headers-\([^ ]*-$flavour\).*/\1/p"); do
		if [ -d "/usr/src/linux-headers-$rel" ]; then
			echo "$rel"
			return 0
		fi
	done
	# Not installed through the meta package: the newest headers of the
	# series whose flavour is exactly this one (6.1.0-56-amd64, not
	# 6.1.0-56-rt-amd64 or -cloud-amd64).
	for d in "/usr/src/linux-headers-$ver".*-"$flavour"; do
		[ -d "$d" ] || continue
		rel=${d#/usr/src/linux-headers-}
		printf '%s\n' "${rel%-"$flavour"}" | grep -Eq '^[0-9][^-]*(-[0-9]+)?$' && echo "$rel"
	done | sort -V | tail -n 1
}

# why_missing NAME META: what to do about a series without a release.
why_missing() {
	if [ "$2" = debug-kernel.sh ]; then
		"$here/debug-kernel.sh" status 2>&1 | sed 's/^debug-kernel.sh: //' | head -n 1
	else
		echo "no kernel headers: $2 is not installed (run tools/setup)"
	fi
}

default_list() { # prints "found RELEASE" or "missing NAME<tab>WHY" per series
	printf '%s\n' "$SERIES" | while read -r name meta _; do
		rel=$(series_release "$name" "$meta")
		if [ -n "$rel" ]; then
			echo "found $rel"
		else
			printf 'missing %s\t%s\n' "$name" "$(why_missing "$name" "$meta")"
		fi
	done
}

cmd=${1:-list}
[ $# -gt 0 ] && shift
case $cmd in
list)
	if [ $# -gt 0 ]; then
		for r in "$@"; do [ -n "$r" ] && echo "$r"; done
	else
		default_list | awk '$1 == "found" && !seen[$2]++ { print $2 }'
	fi
	;;
series)
	printf '%s\n' "$SERIES"
	;;
missing)
	default_list | sed -n 's/^missing //p'
	;;
image)
	[ $# -eq 1 ] || { echo "usage: $0 image RELEASE" >&2; exit 2; }
	img="$(cache_dir)/$1/vmlinuz"
	if [ ! -s "$img" ]; then
		echo "kernels.sh: no kernel image for $1 (expected $img); run tools/setup" >&2
		exit 1
	fi
	echo "$img"
	;;
extra-modules)
	printf '%s\n' $EXTRA_MODULES
	;;
modules)
	[ $# -eq 1 ] || { echo "usage: $0 modules RELEASE" >&2; exit 2; }
	dir="$(cache_dir)/$1"
	rc=0
	for m in $EXTRA_MODULES; do
		name=${m##*/}
		if [ -s "$dir/$name.ko" ]; then
			echo "$dir/$name.ko"
		elif why=$(grep -s "^$name: " "$dir/missing-modules"); then
			echo "kernels.sh: $1: no $name.ko for the VM: ${why#"$name": }" >&2
			rc=1
		else
			echo "kernels.sh: $1: no $name.ko for the VM (expected $dir/$name.ko); run tools/setup" >&2
			rc=1
		fi
	done
	exit $rc
	;;
kdir)
	[ $# -eq 1 ] || { echo "usage: $0 kdir RELEASE" >&2; exit 2; }
	for d in "/usr/src/linux-headers-$1" "/lib/modules/$1/build" "$(cache_dir)/$1/build"; do
		if [ -f "$d/Makefile" ]; then echo "$d"; exit 0; fi
	done
	echo "kernels.sh: no kernel headers for $1 (install linux-headers-$1, or build it: run tools/setup)" >&2
	exit 1
	;;
cache-dir)
	cache_dir
	;;
slowdown)
	[ $# -eq 1 ] || { echo "usage: $0 slowdown RELEASE" >&2; exit 2; }
	if [ "$1" = "$("$here/debug-kernel.sh" release 2>/dev/null)" ]; then
		echo "$DEBUG_SLOWDOWN"
	else
		case $1 in
		*-rt-amd64) echo "$RT_SLOWDOWN" ;;
		*) echo 1 ;;
		esac
	fi
	;;
*)
	echo "usage: $0 list [RELEASE...] | series | missing | image RELEASE | modules RELEASE | extra-modules | kdir RELEASE | slowdown RELEASE | cache-dir" >&2
	exit 2
	;;
esac
