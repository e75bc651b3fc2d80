#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-exports.sh NM LIBRARY SYMFILE
#
# Fails unless the dynamic symbols LIBRARY defines are exactly the global
# symbols of the version script SYMFILE, all in version LIBMSHARE_1.
set -u

nm=$1
lib=$2
sym=$3

want=$(sed -n '/global:/,/local:/p' "$sym" |
	sed -e 's/global://' -e 's/local:.*//' -e 's/[;[:space:]]/ /g' |
	tr ' ' '\n' | sed '/^$/d' | sort)
have=$("$nm" -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sort)
bad=$("$nm" -D --defined-only "$lib" |
	awk '$2 != "A" && $3 !~ /@@LIBMSHARE_1$/ { print $3 }')

if [ -n "$bad" ]; then
	echo "check-exports: not in LIBMSHARE_1: $bad" >&2
	exit 1
fi
have=$(echo "$have" | sed 's/@@LIBMSHARE_1$//')
if [ "$want" != "$have" ]; then
	echo "check-exports: version script and library differ:" >&2
	echo "want: $want" | tr '\n' ' ' >&2
	echo >&2
	echo "have: $have" | tr '\n' ' ' >&2
	echo >&2
	exit 1
fi
echo "check-exports: $(echo "$have" | wc -l) symbols: ok"
