// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-fork: a parent creates and attaches a region, forks N children;
 * children inherit the attachment and each fills its own slot; the parent
 * waits, checks every slot, removes the region.
 *
 *   mshare-fork [-n N] [NAME]      (default N = 4, NAME = mshare-fork-<pid>)
 *
 * Exit status: 0 every slot correct, 1 a slot is wrong or a child failed,
 * 2 usage, 3 system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmshare.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 64

struct slot {
	int32_t pid;			/* written by the child */
	int32_t index;
	uint64_t words[8190];		/* a pattern that depends on index */
};

static uint64_t word(int index, size_t i)
{
	return ((uint64_t)index << 32) ^ (i * 0x9e3779b97f4a7c15ULL);
}

static int fail(const char *what)
{
	fprintf(stderr, "mshare-fork: %s: %s\n", what, strerror(errno));
	return 3;
}

int main(int argc, char **argv)
{
	char defname[64];
	const char *name;
	struct slot *slots;
	size_t size, words = sizeof(slots->words) / sizeof(slots->words[0]);
	long granule;
	int n = 4, opt, fd, bad = 0;
	pid_t pids[MAX_CHILDREN];

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			goto usage;
		n = atoi(optarg);
	}
	if (n < 1 || n > MAX_CHILDREN || argc - optind > 1)
		goto usage;
	snprintf(defname, sizeof(defname), "mshare-fork-%d", (int)getpid());
	name = argc > optind ? argv[optind] : defname;

	/* Create a region big enough for n slots (a multiple of the granule). */
	granule = mshare_granule();
	if (granule < 0)
		return fail("mshare_granule");
	size = (n * sizeof(struct slot) + (size_t)granule - 1) / (size_t)granule * (size_t)granule;
	fd = mcreate(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return fail(name);
	if (mshare_set_size(fd, size))
		return mshare_unlink(name), fail("mshare_set_size");
	slots = mattach(fd, NULL, PROT_READ | PROT_WRITE, 0);
	if (slots == MAP_FAILED)
		return mshare_unlink(name), fail("mattach");
	close(fd);

	/* The children inherit the attachment: same memory, same page tables. */
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return fail("fork");
		if (pids[i] == 0) {
			struct slot *s = &slots[i];

			for (size_t w = 0; w < words; w++)
				s->words[w] = word(i, w);
			s->index = i;
			s->pid = (int32_t)getpid();
			_exit(0);
		}
	}

	/* Wait for all of them, then check what they wrote. */
	for (int i = 0; i < n; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "mshare-fork: child %d failed\n", i);
			bad++;
		}
	}
	for (int i = 0; i < n; i++) {
		struct slot *s = &slots[i];
		size_t w = 0;

		while (w < words && s->words[w] == word(i, w))
			w++;
		if (s->pid != pids[i] || s->index != i || w != words) {
			fprintf(stderr, "mshare-fork: slot %d is wrong (pid %d, index %d, word %zu)\n",
				i, s->pid, s->index, w);
			bad++;
		} else {
			printf("slot %d written by child %d\n", i, s->pid);
		}
	}

	/* Remove the region; it is freed when we detach. */
	if (mshare_unlink(name) || mdetach(slots))
		return fail("cleanup");
	printf("%d children, %s\n", n, bad ? "FAILED" : "all slots verified");
	return bad ? 1 : 0;

usage:
	fprintf(stderr, "usage: mshare-fork [-n N] [NAME]\n");
	return 2;
}
