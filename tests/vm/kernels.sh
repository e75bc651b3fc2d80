#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Kernel releases for the live suite and where their images are cached.
#
#   kernels.sh list [RELEASE...]   releases to test, one per line: the
#                                  arguments if any (meson option
#                                  live_kernels), else the release that
#                                  linux-headers-amd64 depends on (if its
#                                  headers are under /usr/src)
#   kernels.sh image RELEASE       path of the cached vmlinuz; fails if missing
#   kernels.sh kdir RELEASE        kernel build directory (headers) for RELEASE
#   kernels.sh cache-dir           the image cache directory
#
# Images are fetched by tools/setup into
# ${XDG_CACHE_HOME:-$HOME/.cache}/libmshare/kernels/<release>/vmlinuz
# (LIBMSHARE_KERNEL_CACHE overrides the directory).
set -eu

cache_dir() {
	if [ -n "${LIBMSHARE_KERNEL_CACHE:-}" ]; then
		echo "$LIBMSHARE_KERNEL_CACHE"
	else
		echo "${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/libmshare/kernels"
	fi
}

# The release linux-headers-amd64 depends on, e.g. 6.1.0-56-amd64.
default_release() {
	deps=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null || true)
	rel=$(printf '%s\n' "$deps" | tr ',' '\n' |
		sed -n 's/^ *linux-headers-\([^ ]*-amd64\).*/\1/p' | head -n 1)
	if [ -n "$rel" ] && [ -d "/usr/src/linux-headers-$rel" ]; then
		echo "$rel"
		return 0
	fi
	# Not installed through the meta package: the newest amd64 headers.
	for d in /usr/src/linux-headers-*-amd64; do
		[ -d "$d" ] && echo "${d#/usr/src/linux-headers-}"
	done | sort -V | tail -n 1
}

cmd=${1:-list}
[ $# -gt 0 ] && shift
case $cmd in
list)
	if [ $# -gt 0 ]; then
		for r in "$@"; do [ -n "$r" ] && echo "$r"; done
	else
		default_release
	fi
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
	echo "usage: $0 list [RELEASE...] | image RELEASE | kdir RELEASE | cache-dir" >&2
	exit 2
	;;
esac
