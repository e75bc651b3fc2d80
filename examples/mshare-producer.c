// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-producer: create a shared-memory region by name and publish a
 * message in it.
 *
 *   mshare-producer [-s SIZE] [-w N] [-t SECONDS] NAME MESSAGE
 *
 *   -s SIZE     region size in bytes (default: one granule, 2 MiB);
 *               rounded up to a multiple of the granule
 *   -w N        after publishing, wait until N consumers acknowledged
 *               (mshare-consumer -a), then remove the region
 *   -t SECONDS  give up waiting after SECONDS (default 30)
 *
 * Without -w the region stays after the producer exits: it lives in the
 * msharefs mount until someone removes it (mshare-consumer -u, or rm).
 *
 * Exit status: 0 published (and acknowledged with -w), 1 timeout,
 * 2 usage, 3 system error (message on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <libmshare.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "example.h"

static void usage(void)
{
	fprintf(stderr, "usage: mshare-producer [-s SIZE] [-w N] [-t SECONDS] NAME MESSAGE\n");
	exit(2);
}

static int fail(const char *what)
{
	fprintf(stderr, "mshare-producer: %s: %s\n", what, strerror(errno));
	return 3;
}

int main(int argc, char **argv)
{
	size_t size = 0, len;
	long granule, wait_for = 0, timeout = 30;
	struct example_header *hdr;
	const char *name, *msg;
	int fd, opt;

	while ((opt = getopt(argc, argv, "s:w:t:")) != -1) {
		switch (opt) {
		case 's': size = strtoull(optarg, NULL, 0); break;
		case 'w': wait_for = atol(optarg); break;
		case 't': timeout = atol(optarg); break;
		default: usage();
		}
	}
	if (argc - optind != 2)
		usage();
	name = argv[optind];
	msg = argv[optind + 1];
	len = strlen(msg);

	/* Sizes are multiples of the granule (2 MiB with msharefs). */
	granule = mshare_granule();
	if (granule < 0)
		return fail("mshare_granule");
	if (size < sizeof(*hdr) + len + 1)
		size = sizeof(*hdr) + len + 1;
	size = (size + (size_t)granule - 1) / (size_t)granule * (size_t)granule;

	/* 1. Create the region: a file in the msharefs mount. */
	fd = mcreate(name, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return fail(name);

	/* 2. Give it its size; this can be done only once. */
	if (mshare_set_size(fd, size)) {
		int err = errno;

		mshare_unlink(name);
		errno = err;
		return fail("mshare_set_size");
	}

	/* 3. Attach it: the whole region, shared, at a granule-aligned address. */
	hdr = mattach(fd, NULL, PROT_READ | PROT_WRITE, 0);
	if (hdr == MAP_FAILED) {
		int err = errno;

		mshare_unlink(name);
		errno = err;
		return fail("mattach");
	}
	/* The fd is not needed once attached; the window keeps the region. */
	close(fd);

	/* 4. Write the message; publish the magic last, so that a consumer
	 *    never sees a half-written message. */
	memcpy(hdr->message, msg, len + 1);
	hdr->length = (uint32_t)len;
	hdr->checksum = example_checksum(msg, (uint32_t)len);
	__atomic_store_n(&hdr->magic, EXAMPLE_MAGIC, __ATOMIC_RELEASE);
	printf("published %zu bytes in %s (region of %zu bytes at %s/%s)\n",
	       len, name, size, mshare_mount_point(), name);
	fflush(stdout);

	/* 5. Optionally wait for consumers, then remove the region. */
	if (wait_for > 0) {
		time_t end = time(NULL) + timeout;
		uint32_t acks;

		while ((acks = __atomic_load_n(&hdr->acks, __ATOMIC_ACQUIRE)) < wait_for) {
			if (time(NULL) > end) {
				fprintf(stderr, "mshare-producer: %u of %ld acks, giving up\n",
					acks, wait_for);
				mdetach(hdr);
				mshare_unlink(name);
				return 1;
			}
			usleep(10000);
		}
		printf("%u consumers acknowledged; removing %s\n", acks, name);
		/* Unlinking while attached is fine: memory goes with the last user. */
		if (mshare_unlink(name))
			return fail("mshare_unlink");
	}

	/* 6. Detach.  Without -w the region (and the message) stays. */
	if (mdetach(hdr))
		return fail("mdetach");
	return 0;
}
