// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-peer: helper exec'd by live-unrelated (not a test by itself).
 * It attaches an existing region by name and talks through the region:
 *
 *   mshare-peer [--raw] [--ro] NAME step FIRST ROUNDS
 *       ROUNDS times: wait until state == FIRST + 2*i, check that the body
 *       holds pattern `seed`, write pattern seed+1, seed++, state++.
 *   mshare-peer [--raw] NAME write SEED     fill the body with pattern SEED
 *   mshare-peer [--raw] [--ro] NAME verify SEED
 *       exit 0 if the body holds pattern SEED, 1 if not
 *
 * Layout: page 0 holds struct hdr, the body is the rest.  --raw uses
 * open(/sys/fs/mshare/NAME) + mmap instead of mcreate + mattach; --ro
 * opens the region read-only.  Exit: 0 ok, 1 data mismatch, 2 usage,
 * 3 timeout, 4 system error.
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct hdr {
	_Atomic uint32_t state;
	uint32_t pad;
	_Atomic uint64_t seed;
};

static int wait_state(struct hdr *h, uint32_t want)
{
	long end = now_ms() + wait_ms(20000);

	while (atomic_load(&h->state) != want) {
		if (now_ms() > end) {
			fprintf(stderr, "mshare-peer: timeout waiting for state %u (at %u)\n",
				want, atomic_load(&h->state));
			return 3;
		}
		usleep(1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool raw = false, ro = false;
	const char *name, *cmd;
	struct stat st;
	size_t size, ps = (size_t)page_size();
	char *w;
	struct hdr *h;
	int fd, a = 1;

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--raw"))
			raw = true;
		else if (!strcmp(argv[a], "--ro"))
			ro = true;
		else
			return 2;
	}
	if (argc - a < 3)
		return 2;
	name = argv[a];
	cmd = argv[a + 1];

	if (raw)
		fd = open(mpath(name), (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	else
		fd = mcreate(name, ro ? O_RDONLY : O_RDWR, 0);
	if (fd < 0 || fstat(fd, &st)) {
		perror("mshare-peer: open");
		return 4;
	}
	size = (size_t)st.st_size;
	if (raw)
		w = mmap(NULL, size, PROT_READ | (ro ? 0 : PROT_WRITE), MAP_SHARED, fd, 0);
	else
		w = mattach(fd, NULL, PROT_READ | (ro ? 0 : PROT_WRITE), 0);
	if (w == MAP_FAILED) {
		perror("mshare-peer: attach");
		return 4;
	}
	h = (struct hdr *)w;

	if (!strcmp(cmd, "step") && argc - a == 4) {
		uint32_t first = (uint32_t)atoi(argv[a + 2]);
		int rounds = atoi(argv[a + 3]);

		for (int i = 0; i < rounds; i++) {
			uint64_t seed;
			int r = wait_state(h, first + 2 * (uint32_t)i);

			if (r)
				return r;
			seed = atomic_load(&h->seed);
			if (verify_pattern(w + ps, size - ps, seed) != -1) {
				fprintf(stderr, "mshare-peer: body is not pattern %llu\n",
					(unsigned long long)seed);
				return 1;
			}
			fill_pattern(w + ps, size - ps, seed + 1);
			atomic_store(&h->seed, seed + 1);
			atomic_fetch_add(&h->state, 1);
		}
	} else if (!strcmp(cmd, "write") && !ro) {
		fill_pattern(w + ps, size - ps, strtoull(argv[a + 2], NULL, 0));
	} else if (!strcmp(cmd, "verify")) {
		long off = verify_pattern(w + ps, size - ps, strtoull(argv[a + 2], NULL, 0));

		if (off != -1) {
			fprintf(stderr, "mshare-peer: mismatch at %ld\n", off + (long)ps);
			return 1;
		}
	} else {
		return 2;
	}
	if (raw ? munmap(w, size) : mdetach(w)) {
		perror("mshare-peer: detach");
		return 4;
	}
	close(fd);
	return 0;
}
