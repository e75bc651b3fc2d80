#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-exports.sh NM LIBRARY SYMFILE
#
# Fails unless the dynamic symbols LIBRARY defines are exactly the global
# symbols of the version script SYMFILE, each with the version of the node
# that lists it (SYMBOL@@LIBMSHARE_N, the default version).
set -u

nm=$1
lib=$2
sym=$3

if ! want=$(awk -f "$(dirname "$0")/symbols.awk" "$sym"); then
	echo "check-exports: cannot parse $sym" >&2
	exit 1
fi
want=$(echo "$want" | awk 'NF == 2 { print $1 "@@" $2 }' | sort)
have=$("$nm" -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sort)

if [ "$want" != "$have" ]; then
	echo "check-exports: version script and library differ:" >&2
	echo "want: $want" | tr '\n' ' ' >&2
	echo >&2
	echo "have: $have" | tr '\n' ' ' >&2
	echo >&2
	exit 1
fi
echo "check-exports: $(echo "$have" | wc -l) symbols: ok"
