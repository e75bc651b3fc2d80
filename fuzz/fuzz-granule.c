// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the mshare_info parser.
 */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long granule;

	if (msh_granule_parse((const char *)data, size, &granule) == 0 &&
	    (granule <= 0 || (granule & (granule - 1))))
		abort();
	return 0;
}
