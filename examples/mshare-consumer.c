// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-consumer: attach an existing region by name and read the message
 * an mshare-producer left in it.
 *
 *   mshare-consumer [-e EXPECTED] [-a] [-u] [-t SECONDS] [-H SECONDS] NAME
 *
 *   -e EXPECTED  the message must be exactly EXPECTED
 *   -a           acknowledge (needs write access; the default is a
 *                read-only attach, which can never modify the region)
 *   -u           remove the region after reading
 *   -t SECONDS   wait up to SECONDS for the message to be complete
 *                (default 0: it must be there already)
 *   -H SECONDS   then read every page of the region and stay attached
 *                for SECONDS, or until SIGTERM or SIGINT (to watch it
 *                with `mshare ls`); prints "holding NAME" once attached
 *
 * Prints the message on stdout.  Exit status: 0 valid message (equal to
 * EXPECTED with -e), 1 invalid or unexpected message, 2 usage, 3 system
 * error (e.g. no such region).
 */
#include <errno.h>
#include <fcntl.h>
#include <libmshare.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "example.h"

#define USAGE "usage: mshare-consumer [-e EXPECTED] [-a] [-u] [-t SECONDS] [-H SECONDS] NAME\n"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int fail(const char *what)
{
	fprintf(stderr, "mshare-consumer: %s: %s\n", what, strerror(errno));
	return 3;
}

/* Read every page, so that every page table of the region is linked in,
 * then stay attached for @seconds or until SIGTERM / SIGINT. */
static void hold(const char *name, const volatile char *p, size_t size,
		 long seconds)
{
	struct sigaction sa = { .sa_handler = on_signal };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned long sum = 0;
	time_t end;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (size_t off = 0; off < size; off += page)
		sum += (unsigned char)p[off];
	(void)sum;
	printf("holding %s (%zu bytes) for up to %ld s\n", name, size, seconds);
	fflush(stdout);
	for (end = time(NULL) + seconds; !stop && time(NULL) < end; )
		usleep(100000);
}

int main(int argc, char **argv)
{
	const char *name, *expected = NULL;
	struct example_header *hdr;
	bool ack = false, unlink_after = false;
	long timeout = 0, hold_for = 0;
	size_t size;
	int fd, opt, ret = 0;

	while ((opt = getopt(argc, argv, "e:aut:H:")) != -1) {
		switch (opt) {
		case 'e': expected = optarg; break;
		case 'a': ack = true; break;
		case 'u': unlink_after = true; break;
		case 't': timeout = atol(optarg); break;
		case 'H': hold_for = atol(optarg); break;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fputs(USAGE, stderr);
		return 2;
	}
	name = argv[optind];

	/* 1. Open the region by name; no O_CREAT: it must exist. */
	fd = mcreate(name, ack ? O_RDWR : O_RDONLY, 0);
	if (fd < 0)
		return fail(name);
	if (mshare_get_size(fd, &size))
		return fail("mshare_get_size");
	if (size < sizeof(*hdr)) {
		fprintf(stderr, "mshare-consumer: %s has no message (size %zu)\n", name, size);
		return 1;
	}

	/* 2. Attach it, read-only unless we acknowledge. */
	hdr = mattach(fd, NULL, PROT_READ | (ack ? PROT_WRITE : 0), 0);
	if (hdr == MAP_FAILED)
		return fail("mattach");
	close(fd);

	/* 3. Wait for the producer to publish (magic is written last). */
	for (time_t end = time(NULL) + timeout;
	     __atomic_load_n(&hdr->magic, __ATOMIC_ACQUIRE) != EXAMPLE_MAGIC;
	     usleep(10000)) {
		if (time(NULL) >= end) {
			fprintf(stderr, "mshare-consumer: no message in %s\n", name);
			mdetach(hdr);
			return 1;
		}
	}

	/* 4. Validate: length within the region, NUL, checksum, expectation. */
	if (hdr->length > size - sizeof(*hdr) - 1 || hdr->message[hdr->length] != 0 ||
	    example_checksum(hdr->message, hdr->length) != hdr->checksum) {
		fprintf(stderr, "mshare-consumer: corrupted message in %s\n", name);
		ret = 1;
	} else {
		printf("%s\n", hdr->message);
		if (expected && strcmp(expected, hdr->message)) {
			fprintf(stderr, "mshare-consumer: expected \"%s\"\n", expected);
			ret = 1;
		}
	}

	/* 5. Acknowledge, optionally stay a while, detach, optionally remove. */
	if (ack && ret == 0)
		__atomic_fetch_add(&hdr->acks, 1, __ATOMIC_RELEASE);
	if (hold_for > 0 && ret == 0)
		hold(name, (const volatile char *)hdr, size, hold_for);
	if (mdetach(hdr))
		return fail("mdetach");
	if (unlink_after && mshare_unlink(name))
		return fail("mshare_unlink");
	return ret;
}
