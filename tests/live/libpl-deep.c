// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A library mshare-pl dlopen()s (live-preload "dlopen"): its mmap() binds
 * to libc's own when it is loaded with RTLD_DEEPBIND, past an LD_PRELOAD
 * library, unless that library drops the flag.
 */
#include <stddef.h>
#include <sys/mman.h>

void *pl_map(size_t len);

void *pl_map(size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}
