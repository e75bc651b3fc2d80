# SPDX-License-Identifier: LGPL-2.1-or-later
#
# awk -f symbols.awk SYMFILE
#
# Prints "SYMBOL VERSION" for every global symbol of the version script
# SYMFILE, one per line: NODE { global: a; b; local: *; } [PARENT];
{
	sub(/#.*/, "")
	gsub(/[{};]/, " & ")
	gsub(/:/, ": ")
	for (i = 1; i <= NF; i++)
		tok[n++] = $i
}
END {
	state = "name"
	for (i = 0; i < n; i++) {
		t = tok[i]
		if (state == "name") {
			node = t
			state = "open"
		} else if (state == "open") {
			if (t != "{")
				exit 1
			state = "body"
			mode = ""
		} else if (state == "body") {
			if (t == "}")
				state = "tail"
			else if (t == "global:")
				mode = "g"
			else if (t == "local:")
				mode = "l"
			else if (t != ";" && mode == "g")
				print t, node
		} else if (t == ";") {
			state = "name"
		}
	}
	if (state != "name")
		exit 1
}
