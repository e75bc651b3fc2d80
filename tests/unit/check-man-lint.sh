#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-man-lint.sh GROFF MANDIR PAGE...
#
# Fails if groff warns about any PAGE (".so" aliases are skipped).
set -u

groff=$1
mandir=$2
shift 2
fail=0

for p in "$@"; do
	f=$mandir/$p
	[ -f "$f" ] || continue
	grep -q '^\.so[[:space:]]' "$f" && continue
	out=$(LC_ALL=C.UTF-8 "$groff" -man -Tutf8 -ww -z "$f" 2>&1)
	if [ -n "$out" ]; then
		echo "$p: $out" >&2
		fail=1
	fi
done
exit $fail
