// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: mount discovery on arbitrary mount table text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL;
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	if (msh_mount_discover_stream(f, &out) == 0)
		free(out);
	fclose(f);
	return 0;
}
