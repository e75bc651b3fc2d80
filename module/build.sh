#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Build msharefs.ko out of tree in a private copy of the sources, so that
# builds for several kernels never share object files.
#   build.sh KDIR OUTPUT.ko SRCDIR UAPI_INCLUDE_DIR WORKDIR VERSION
# VERSION: the project's (meson.build), the module's MODULE_VERSION.
set -eu
kdir=$1 out=$2 src=$3 uapi=$4 work=$5 version=$6

rm -rf "$work"
mkdir -p "$work/include/uapi/linux"
cp "$src"/Kbuild "$src"/Makefile "$src"/*.c "$src"/*.h "$work"/
cp "$uapi"/linux/msharefs.h "$work/include/uapi/linux/"
make -s -C "$kdir" M="$work" MSHAREFS_VERSION="$version" modules >"$work/build.log" 2>&1 || {
	cat "$work/build.log" >&2
	exit 1
}
# Kbuild notes; anything else it prints is a warning the tree must not have.
if grep -v -e '^Skipping BTF generation' "$work/build.log" | grep -q .; then
	cat "$work/build.log" >&2
	echo "build.sh: the module build printed warnings" >&2
	exit 1
fi
cp "$work/msharefs.ko" "$out"
