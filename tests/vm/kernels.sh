#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Kernel releases for the live suite and where their images are cached.
#
#   kernels.sh list [RELEASE...]   releases to test, one per line: the
#                                  arguments if any (meson option
#                                  live_kernels), else one release per
#                                  kernel series (see `series`) whose
#                                  headers are under /usr/src
#   kernels.sh series              the default matrix, one series a line:
#                                  NAME META-PACKAGE APT-TARGET-RELEASE
#                                  (tools/setup installs the meta packages,
#                                  with apt-get -t TARGET unless it is -)
#   kernels.sh missing             the series `list` finds no release for
#                                  (NAME META-PACKAGE), none if complete
#   kernels.sh image RELEASE       path of the cached vmlinuz; fails if missing
#   kernels.sh modules RELEASE     the cached extra modules for RELEASE (see
#                                  `extra-modules`), one path a line; each one
#                                  missing is reported on stderr, status 1
#   kernels.sh extra-modules       modules taken from the image package and
#                                  put in the VM as /lib/<name>.ko, as paths
#                                  under kernel/ without .ko
#   kernels.sh kdir RELEASE        kernel build directory (headers) for RELEASE
#   kernels.sh cache-dir           the image cache directory
#
# Images are fetched by tools/setup into
# ${XDG_CACHE_HOME:-$HOME/.cache}/libmshare/kernels/<release>/vmlinuz, the
# extra modules (decompressed) next to it as <name>.ko; a module the package
# does not have is listed with the reason in <release>/missing-modules.
# (LIBMSHARE_KERNEL_CACHE overrides the directory.)
set -eu

# The default matrix, oldest first: Debian 12's own kernel (6.1, through
# linux-headers-amd64) and 6.12 (linux-headers-6.12-amd64, installed with
# -t bookworm-backports).  The release of a series is the one its meta
# package depends on; without the meta package, the newest headers of the
# series under /usr/src.
SERIES='6.1 linux-headers-amd64 -
6.12 linux-headers-6.12-amd64 bookworm-backports'

EXTRA_MODULES='drivers/block/brd'

cache_dir() {
	if [ -n "${LIBMSHARE_KERNEL_CACHE:-}" ]; then
		echo "$LIBMSHARE_KERNEL_CACHE"
	else
		echo "${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/libmshare/kernels"
	fi
}

# series_release NAME META: e.g. 6.1 linux-headers-amd64 -> 6.1.0-56-amd64.
series_release() {
	deps=$(dpkg-query -W -f='${Depends}' "$2" 2>/dev/null || true)
	for rel in $(printf '%s\n' "$deps" | tr ',|' '\n' |
		sed -n 's/^ *linux-headers-\([^ ]*-amd64\).*/\1/p'); do
		if [ -d "/usr/src/linux-headers-$rel" ]; then
			echo "$rel"
			return 0
		fi
	done
	# Not installed through the meta package: the newest headers of the series.
	for d in "/usr/src/linux-headers-$1".*-amd64; do
		[ -d "$d" ] && echo "${d#/usr/src/linux-headers-}"
	done | sort -V | tail -n 1
}

default_list() { # prints "found RELEASE" or "missing NAME META" per series
	printf '%s\n' "$SERIES" | while read -r name meta _; do
		rel=$(series_release "$name" "$meta")
		if [ -n "$rel" ]; then echo "found $rel"; else echo "missing $name $meta"; fi
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
	default_list | awk '$1 == "missing" { print $2, $3 }'
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
	for d in "/usr/src/linux-headers-$1" "/lib/modules/$1/build"; do
		if [ -f "$d/Makefile" ]; then echo "$d"; exit 0; fi
	done
	echo "kernels.sh: no kernel headers for $1 (install linux-headers-$1; run tools/setup)" >&2
	exit 1
	;;
cache-dir)
	cache_dir
	;;
*)
	echo "usage: $0 list [RELEASE...] | series | missing | image RELEASE | modules RELEASE | extra-modules | kdir RELEASE | cache-dir" >&2
	exit 2
	;;
esac
