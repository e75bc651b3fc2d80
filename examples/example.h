/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The layout the producer and consumer examples agree on: a small header
 * at the start of the region, the message right after it.
 */
#ifndef MSHARE_EXAMPLE_H
#define MSHARE_EXAMPLE_H

#include <stdint.h>

#define EXAMPLE_MAGIC	0x4d534821u	/* "MSH!" */

struct example_header {
	uint32_t magic;		/* EXAMPLE_MAGIC once the message is complete */
	uint32_t length;	/* message length in bytes, without the NUL */
	uint64_t checksum;	/* FNV-1a of the message */
	uint32_t acks;		/* consumers that acknowledged (atomic) */
	uint32_t reserved;
	char message[];		/* NUL-terminated */
};

/* 64-bit FNV-1a: enough to notice a torn or corrupted message. */
static inline uint64_t example_checksum(const char *s, uint32_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#endif /* MSHARE_EXAMPLE_H */
