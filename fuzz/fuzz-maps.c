// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: finding an attachment in /proc/self/maps text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uintptr_t addr, start;
	size_t len;
	FILE *f;

	if (size < sizeof(addr))
		return 0;
	memcpy(&addr, data, sizeof(addr));
	f = fmemopen((void *)(data + sizeof(uintptr_t)),
		     size - sizeof(uintptr_t), "r");
	if (!f)
		return 0;
	if (msh_maps_find(f, addr, makedev(0, 0x2a), &start, &len) == 0 &&
	    (start != addr || len == 0))
		abort();
	fclose(f);
	return 0;
}
