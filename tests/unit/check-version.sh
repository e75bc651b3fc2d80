#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-version.sh VERSION SOURCE_ROOT DKMS_CONF
#
# One version number: VERSION is meson's project version; the module's
# (module/Makefile reads it from meson.build and gives it to Kbuild as
# MSHAREFS_VERSION: MODULE_VERSION, MSHAREFS_GET_FS_STAT), the generated
# dkms.conf's PACKAGE_VERSION and debian/changelog's (a native package:
# the same number) must all be VERSION.
set -u
want=$1 top=$2 dkms=$3
fail=0

check() { # check WHAT GOT
	if [ "$2" = "$want" ]; then
		echo "check-version: $1: $2"
	else
		echo "check-version: $1 is '$2', meson.build's project() says '$want'" >&2
		fail=1
	fi
}

check "module/Makefile (MSHAREFS_VERSION)" "$(make -s --no-print-directory -C "$top/module" version 2>&1)"
check "$dkms (PACKAGE_VERSION)" "$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$dkms")"
check "debian/changelog" "$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$top/debian/changelog")"
exit $fail
