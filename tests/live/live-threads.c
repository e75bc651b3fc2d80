// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-threads: threads pinned to different CPUs (the VM has 2) fault the
 * same fresh pages at once (each page allocated exactly once, no update
 * lost), write/read disjoint halves of one window, and attach/detach
 * their own windows of the region concurrently while others use theirs.
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SZ (8 * MIB)
#define NT 2
#define ROUNDS 4
#define ATTACHES 25
#define RW (PROT_READ | PROT_WRITE)

static char *w;
static int fd;
static pthread_barrier_t bar;
static _Atomic int errors;

struct targ {
	int id;
	int err;
};

static void pin(int id)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(id % ncpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *worker(void *p)
{
	struct targ *t = p;
	size_t ps = (size_t)page_size(), half = SZ / 2;
	int me = t->id, other = 1 - t->id;

	pin(me);

	/* phase 1: both threads fault every page at the same time */
	pthread_barrier_wait(&bar);
	for (size_t o = 0; o < SZ; o += ps)
		atomic_fetch_add((_Atomic uint64_t *)(w + o), 1);
	pthread_barrier_wait(&bar);

	/* phase 2: disjoint halves, swapped each round */
	for (int r = 0; r < ROUNDS; r++) {
		pthread_barrier_wait(&bar);
		fill_pattern(w + (size_t)me * half + 8, half - 8, (uint64_t)(100 * r + me));
		pthread_barrier_wait(&bar);
		if (verify_pattern(w + (size_t)other * half + 8, half - 8,
				   (uint64_t)(100 * r + other)) != -1) {
			t->err = 1;
			atomic_fetch_add(&errors, 1);
		}
	}
	pthread_barrier_wait(&bar);

	/* phase 3: attach/detach own windows while the other does the same */
	for (int i = 0; i < ATTACHES; i++) {
		char *mine = i & 1 ? mattach(fd, NULL, RW, 0)
				   : mmap(NULL, SZ, RW, MAP_SHARED, fd, 0);

		if (mine == MAP_FAILED) {
			t->err = 2;
			break;
		}
		if (((uintptr_t)mine & (GRANULE - 1)) ||
		    verify_pattern(mine + (size_t)me * half + 8, 4096,
				   (uint64_t)(100 * (ROUNDS - 1) + me)) != -1)
			t->err = 3;
		((volatile uint64_t *)(mine + SZ - 4096))[me * 64 + i] = (uint64_t)(i + 1);
		if (i & 1 ? mdetach(mine) : munmap(mine, SZ))
			t->err = 4;
		if (t->err)
			break;
	}
	return NULL;
}

int main(void)
{
	long ps = page_size(), npages = (long)SZ / ps, used0;
	pthread_t th[NT];
	struct targ args[NT];
	struct stat st;

	live_init("live-threads");
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		fprintf(stderr, "live-threads: only one CPU online\n");
	used0 = used_pages(MNT);
	fd = EXPECT_OK(mcreate("threads", O_RDWR | O_CREAT | O_EXCL, 0600));
	EXPECT_OK(mshare_set_size(fd, SZ));
	w = mattach(fd, NULL, RW, 0);
	CHECK(w != MAP_FAILED);
	CHECK(pthread_barrier_init(&bar, NULL, NT) == 0);

	for (int i = 0; i < NT; i++) {
		args[i] = (struct targ){ .id = i };
		CHECK(pthread_create(&th[i], NULL, worker, &args[i]) == 0);
	}
	for (int i = 0; i < NT; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	for (int i = 0; i < NT; i++)
		CHECKF(args[i].err == 0, "thread %d error %d", i, args[i].err);
	CHECK(atomic_load(&errors) == 0);

	/* phase 1 results: the first words of the pages that phase 2 left alone */
	CHECKF(((uint64_t *)w)[0] == NT, "page 0 counter %llu", (unsigned long long)((uint64_t *)w)[0]);
	CHECKF(((uint64_t *)(w + SZ / 2))[0] == NT, "page counter");
	CHECKF(used_pages(MNT) == used0 + npages, "used %ld, want %ld (double allocation?)",
	       used_pages(MNT), used0 + npages);
	CHECK(fstat(fd, &st) == 0 && st.st_blocks == npages * ps / 512);
	/* phase 3 writes */
	for (int i = 0; i < NT; i++)
		for (int j = 0; j < ATTACHES; j++)
			if (((uint64_t *)(w + SZ - 4096))[i * 64 + j] != (uint64_t)(j + 1))
				CHECKF(0, "thread %d attach %d: write lost", i, j);
	CHECK(maps_has(w, SZ));

	CHECK(mdetach(w) == 0);
	close(fd);
	CHECK(mshare_unlink("threads") == 0);
	live_done();
}
