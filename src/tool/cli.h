/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parsing and formatting of the mshare tool, apart so that the unit
 * tests can reach them.
 */
#ifndef MSHARE_TOOL_CLI_H
#define MSHARE_TOOL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Room for any cli_human() text: "-16E", "1023K", "9.9M" and the NUL. */
#define CLI_HUMAN_MAX	16

/*
 * @bytes in binary units, as ls -h and numfmt --to=iec print them: below
 * 1024 the plain number, else one decimal below 10 ("1.5K", "2.0M") and
 * none from 10 up ("10G", "1023M"), rounded to the nearest.
 */
const char *cli_human(uint64_t bytes, char *buf, size_t len);
/* The same for a signed number ("-4.0K"). */
const char *cli_human_signed(int64_t bytes, char *buf, size_t len);

/*
 * A size: decimal digits, optionally followed by K, M, G or T (either
 * case; powers of 1024), optionally followed by "iB".  Returns 0,
 * -EINVAL (malformed) or -ERANGE (more than 2^64 - 1).
 */
int cli_parse_size(const char *text, uint64_t *size);

/* Permission bits in octal ("600", "0640"), at most 0777: 0 or -EINVAL. */
int cli_parse_mode(const char *text, mode_t *mode);

/*
 * @s as a JSON string, quotes included: '"', '\' and control characters
 * escaped, valid UTF-8 kept, every byte of invalid UTF-8 written as
 * U+FFFD (region names are bytes; JSON text is UTF-8).
 */
void cli_json_string(FILE *f, const char *s);

/* Replace control characters of @s by '?' (for a terminal). */
void cli_printable(char *s);

/* Columns @s takes on a terminal (UTF-8: continuation bytes are free). */
size_t cli_width(const char *s);

/*
 * The LD_PRELOAD value that loads @lib first: "@lib:@existing", or
 * @existing as it is when it already names @lib (entries are separated by
 * ':' or ' ', as ld.so reads them).  Returns 0, -EINVAL (@lib empty or
 * containing a separator) or -ENAMETOOLONG (@out of @len bytes too small).
 */
int cli_preload_list(const char *existing, const char *lib, char *out,
		     size_t len);

#endif /* MSHARE_TOOL_CLI_H */
