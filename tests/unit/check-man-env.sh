#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-man-env.sh CONFIG_C PAGE
#
# Every environment variable libmshare-preload reads (the names of the
# msp_vars table of CONFIG_C, src/preload/config.c) has an entry (a ".TP"
# then ".B NAME") in the ENVIRONMENT section of PAGE
# (man/libmshare-preload.8), and every entry there is one of them.
set -u

src=$1
page=$2
fail=0

err() {
	echo "check-man-env: $*" >&2
	fail=1
}

vars=$(sed -n '/^const struct msp_var msp_vars\[\] = {/,/^};/p' "$src" |
	sed -n 's/^[[:space:]]*{ "\([A-Z_][A-Z0-9_]*\)",.*/\1/p')
[ -n "$vars" ] || { err "$src: no variables in msp_vars"; exit 1; }
documented=$(awk '
	/^\.SH / { env = ($2 == "ENVIRONMENT"); next }
	env && prev ~ /^\.TP/ && /^\.B / { print $2 }
	{ prev = $0 }
' "$page")

for v in $vars; do
	echo "$documented" | grep -qx "$v" ||
		err "$v: read by the library, not in the ENVIRONMENT of $page"
done
for d in $documented; do
	echo "$vars" | grep -qx "$d" ||
		err "$d: in the ENVIRONMENT of $page, not read by the library"
done
[ $fail -eq 0 ] && echo "check-man-env: $(echo "$vars" | wc -l) variables: ok"
exit $fail
