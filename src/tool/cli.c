// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The parsing and formatting of the mshare tool: see cli.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"

#define UNITS	"KMGTPE"

const char *cli_human(uint64_t bytes, char *buf, size_t len)
{
	uint64_t unit = 1024;
	size_t i;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64, bytes);
		return buf;
	}
	for (i = 0; ; i++, unit *= 1024) {
		uint64_t q = bytes / unit, r = bytes % unit;
		/* r < unit <= 2^60: r * 10 cannot overflow. */
		uint64_t tenths = q * 10 + (r * 10 + unit / 2) / unit;
		uint64_t whole = q + (r >= unit / 2);

		if (tenths < 100) {
			snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%c",
				 tenths / 10, tenths % 10, UNITS[i]);
			return buf;
		}
		if (whole < 1024 || i == sizeof(UNITS) - 2) {
			snprintf(buf, len, "%" PRIu64 "%c", whole, UNITS[i]);
			return buf;
		}
	}
}

const char *cli_human_signed(int64_t bytes, char *buf, size_t len)
{
	uint64_t mag;

	if (bytes >= 0)
		return cli_human((uint64_t)bytes, buf, len);
	mag = (uint64_t)(-(bytes + 1)) + 1;
	if (len < 2) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	buf[0] = '-';
	cli_human(mag, buf + 1, len - 1);
	return buf;
}

static unsigned int unit_shift(char c)
{
	switch (c) {
	case 'k': case 'K':
		return 10;
	case 'm': case 'M':
		return 20;
	case 'g': case 'G':
		return 30;
	case 't': case 'T':
		return 40;
	}
	return 0;
}

int cli_parse_size(const char *text, uint64_t *size)
{
	const char *p = text;
	unsigned int shift;
	uint64_t val = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int digit = (unsigned int)(*p - '0');

		if (val > (UINT64_MAX - digit) / 10)
			return -ERANGE;
		val = val * 10 + digit;
	}
	shift = unit_shift(*p);
	if (shift) {
		p++;
		if (!strcmp(p, "iB"))
			p += 2;
	}
	if (*p)
		return -EINVAL;
	if (shift && val > UINT64_MAX >> shift)
		return -ERANGE;
	*size = val << shift;
	return 0;
}

int cli_parse_mode(const char *text, mode_t *mode)
{
	const char *p = text;
	unsigned int val = 0;

	if (!*p)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '7')
			return -EINVAL;
		val = val * 8 + (unsigned int)(*p - '0');
		if (val > 0777)
			return -EINVAL;
	}
	*mode = (mode_t)val;
	return 0;
}

static bool cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* Length of the valid UTF-8 sequence at @p (non-ASCII lead), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (!cont(p[i]))
			return 0;
	return n;
}

void cli_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		unsigned char c = *p;
		size_t n;

		if (c >= 0x80) {
			n = utf8_len(p);
			if (n) {
				fwrite(p, 1, n, f);
				p += n;
			} else {
				fputs("\\ufffd", f);
				p++;
			}
			continue;
		}
		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
		p++;
	}
	fputc('"', f);
}

void cli_printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

size_t cli_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (!cont((unsigned char)*s))
			w++;
	return w;
}

static bool preload_sep(char c)
{
	return c == ':' || c == ' ';
}

int cli_preload_list(const char *existing, const char *lib, char *out,
		     size_t len)
{
	size_t ll = strlen(lib);
	const char *p;
	int n;

	if (!ll || strchr(lib, ':') || strchr(lib, ' '))
		return -EINVAL;
	for (p = existing ? existing : ""; *p;) {
		const char *w;

		while (preload_sep(*p))
			p++;
		w = p;
		while (*p && !preload_sep(*p))
			p++;
		if ((size_t)(p - w) == ll && !strncmp(w, lib, ll)) {
			n = snprintf(out, len, "%s", existing);
			return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
		}
	}
	if (existing && *existing)
		n = snprintf(out, len, "%s:%s", lib, existing);
	else
		n = snprintf(out, len, "%s", lib);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
