// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * MSHARE_VERBOSE=1: one line per decision on standard error, written with
 * one write(2) and no allocation.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "shim.h"

void msp_log(const char *fmt, ...)
{
	char line[512];
	int saved = errno, n, m;
	va_list ap;

	if (!msp_cfg.verbose)
		return;
	n = snprintf(line, sizeof(line), "mshare-preload[%d]: ", (int)getpid());
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		errno = saved;	/* nothing to do about it */
	errno = saved;
}
