// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-fork: fork() children keep the attachment: they see the parent's
 * data, their writes are seen by the parent and vice versa, several
 * children write their own slots at once, a grandchild too; a child
 * detaching or exiting leaves the parent's window intact; the window
 * keeps its unit rules in the child.
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#define SZ (4 * MIB)
#define HALF (SZ / 2)
#define NCHILD 4
#define SLOT (SZ / NCHILD)
#define RW (PROT_READ | PROT_WRITE)

static char *w, *rw;	/* library window, raw window of the same region */
static int fd;
static int to_child[2], to_parent[2];

static char get(int f)
{
	char c = 0;

	return read(f, &c, 1) == 1 ? c : 0;
}

static int ping_pong_child(void *arg)
{
	(void)arg;
	close(to_child[1]);
	close(to_parent[0]);
	if (verify_pattern(w, SZ, 1) != -1 || verify_pattern(rw, SZ, 1) != -1)
		return 1;
	fill_pattern(w + HALF, HALF, 2);
	if (write(to_parent[1], "a", 1) != 1 || get(to_child[0]) != 'b')
		return 2;
	if (verify_pattern(rw, HALF, 3) != -1 || verify_pattern(w, HALF, 3) != -1)
		return 3;
	/* the unit rules hold in the child too */
	if (mprotect(w, SZ, PROT_READ) != -1 || errno != EINVAL)
		return 4;
	if (munmap(w, 4096) != -1 || errno != EINVAL)
		return 5;
	return 0;	/* exit without detaching */
}

static int slot_child(void *arg)
{
	int i = (int)(intptr_t)arg;

	fill_pattern(w + (size_t)i * SLOT, SLOT, 10 + (uint64_t)i);
	return 0;
}

static int grandchild(void *arg)
{
	(void)arg;
	fill_pattern(rw, SLOT, 20);
	return 0;
}

static int detaching_child(void *arg)
{
	int st;

	(void)arg;
	/* fork again: the grandchild writes through the raw window */
	st = run_child(grandchild, NULL);
	if (st)
		return 10 + st;
	if (verify_pattern(w, SLOT, 20) != -1)
		return 1;
	if (mdetach(w) || munmap(rw, SZ))
		return 2;
	if (!probe_read(w) || !probe_read(rw))
		return 3;
	/* attach again in the child, through the inherited fd */
	w = mattach(fd, NULL, RW, 0);
	if (w == MAP_FAILED || verify_pattern(w, SLOT, 20) != -1)
		return 4;
	fill_pattern(w + SLOT, SLOT, 21);
	return mdetach(w) ? 5 : 0;
}

int main(void)
{
	pid_t pids[NCHILD], pid;
	int st;

	live_init("live-fork");
	CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);
	fd = EXPECT_OK(mcreate("forked", O_RDWR | O_CREAT | O_EXCL, 0600));
	EXPECT_OK(mshare_set_size(fd, SZ));
	w = mattach(fd, NULL, RW, 0);
	CHECK(w != MAP_FAILED);
	rw = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, 1);

	/* ---- ping-pong with one child ---- */
	pid = spawn(ping_pong_child, NULL);
	close(to_child[0]);
	close(to_parent[1]);
	CHECKF(get(to_parent[0]) == 'a', "child failed before writing");
	CHECK(verify_pattern(w + HALF, HALF, 2) == -1);
	CHECK(verify_pattern(rw + HALF, HALF, 2) == -1);
	CHECK(verify_pattern(w, HALF, 1) == -1);
	fill_pattern(rw, HALF, 3);
	CHECK(write(to_child[1], "b", 1) == 1);
	st = wait_status(pid);
	CHECKF(st == 0, "ping-pong child status %d", st);
	CHECK(verify_pattern(w, HALF, 3) == -1 && verify_pattern(w + HALF, HALF, 2) == -1);
	CHECK(maps_has(w, SZ) && probe_write(w + 1, 1) == 0);

	/* ---- several children, one slot each, at the same time ---- */
	for (int i = 0; i < NCHILD; i++)
		pids[i] = spawn(slot_child, (void *)(intptr_t)i);
	for (int i = 0; i < NCHILD; i++) {
		st = wait_status(pids[i]);
		CHECKF(st == 0, "slot child %d status %d", i, st);
	}
	for (int i = 0; i < NCHILD; i++) {
		CHECKF(verify_pattern(w + (size_t)i * SLOT, SLOT, 10 + (uint64_t)i) == -1,
		       "slot %d", i);
		CHECK(verify_pattern(rw + (size_t)i * SLOT, SLOT, 10 + (uint64_t)i) == -1);
	}

	/* ---- a child that forks, detaches, re-attaches ---- */
	st = run_child(detaching_child, NULL);
	CHECKF(st == 0, "detaching child status %d", st);
	CHECK(verify_pattern(w, SLOT, 20) == -1);
	CHECK(verify_pattern(w + SLOT, SLOT, 21) == -1);
	CHECK(verify_pattern(w + 2 * SLOT, SLOT, 12) == -1);
	CHECK(maps_has(w, SZ) && maps_has(rw, SZ));
	CHECK(probe_write(w + SZ - 1, 7) == 0 && rw[SZ - 1] == 7);

	CHECK(mdetach(w) == 0);
	CHECK(munmap(rw, SZ) == 0);
	close(fd);
	CHECK(mshare_unlink("forked") == 0);
	live_done();
}
