// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-readonly: an attacher with an O_RDONLY fd sees the writer's data
 * but can never write: stores fault (SIGSEGV), mprotect to PROT_WRITE is
 * refused, PROT_WRITE attach is EACCES; this holds while a writer is
 * writing, in another process, and for a non-root reader of a 0644 region.
 */
#include "common.h"

#include <fcntl.h>
#include <libmshare.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SZ (4 * MIB)
#define RW (PROT_READ | PROT_WRITE)

static int to_child[2], to_parent[2];

static bool mprotect_refused(void *p, size_t len, int prot)
{
	int r = mprotect(p, len, prot);

	if (r == 0) {
		fprintf(stderr, "mprotect(%p, %zu, %d) succeeded\n", p, len, prot);
		return false;
	}
	return errno == EACCES || errno == EINVAL;
}

/* a read-only attacher must not be able to write through w in any way */
static int cannot_write(char *w)
{
	size_t ps = (size_t)page_size();

	if (!probe_write(w, 0xee) || !probe_write(w + SZ - 1, 0xee) ||
	    !probe_write(w + SZ / 2 + 123, 0xee))
		return 1;
	if (!mprotect_refused(w, SZ, RW) || !mprotect_refused(w, ps, RW) ||
	    !mprotect_refused(w + GRANULE, GRANULE, PROT_READ | PROT_WRITE | PROT_EXEC))
		return 2;
	if (!probe_write(w + 8, 0xee))
		return 3;
	return 0;
}

static int wait_byte(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? c : -1;
}

static void send_byte(int fd, char c)
{
	CHECK(write(fd, &c, 1) == 1);
}

/* another process: opens O_RDONLY itself, follows the writer's generations */
static int reader_child(void *arg)
{
	int fd, g, r;
	char *w;

	(void)arg;
	if (wait_byte(to_child[0]) != 'a')
		return 10;
	fd = mcreate("ro", O_RDONLY, 0);
	if (fd < 0)
		return 11;
	if (mattach(fd, NULL, RW, 0) != MAP_FAILED || errno != EACCES)
		return 12;
	w = mattach(fd, NULL, PROT_READ, 0);
	if (w == MAP_FAILED)
		return 13;
	send_byte(to_parent[1], 'r');
	/* phase 1: generations written while we are attached */
	while ((g = wait_byte(to_child[0])) >= '1' && g <= '4') {
		if (verify_pattern(w + 4096, SZ - 4096, (uint64_t)g) != -1)
			return 20;
		r = cannot_write(w);
		if (r)
			return 20 + r;
		send_byte(to_parent[1], (char)g);
	}
	if (g != 'c')
		return 30;
	/* phase 2: try to write while the writer writes */
	for (int i = 0; i < 200; i++) {
		size_t off = 4096 + ((size_t)i * 20011) % (SZ - 4096);

		if (!probe_write(w + off, 0xee))
			return 31;
	}
	if (cannot_write(w))
		return 32;
	send_byte(to_parent[1], 'd');
	if (mdetach(w))
		return 33;
	close(fd);
	return 0;
}

/* uid 1000 reading a 0644 region */
static int nonroot_reader(void *arg)
{
	char *w;
	int fd;

	(void)arg;
	if (open(mpath("ro"), O_RDWR) != -1 || errno != EACCES)
		return 1;
	fd = open(mpath("ro"), O_RDONLY);
	if (fd < 0)
		return 2;
	if (mmap(NULL, SZ, RW, MAP_SHARED, fd, 0) != MAP_FAILED || errno != EACCES)
		return 3;
	w = mmap(NULL, SZ, PROT_READ, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED)
		return 4;
	if (verify_pattern(w + 4096, SZ - 4096, 9) != -1)
		return 5;
	if (cannot_write(w))
		return 6;
	munmap(w, SZ);
	close(fd);
	return 0;
}

int main(void)
{
	char *w, *r;
	int fd, rofd, st;
	pid_t pid;

	live_init("live-readonly");
	CHECK(pipe(to_child) == 0 && pipe(to_parent) == 0);

	fd = raw_create("ro", SZ);
	CHECK(fchmod(fd, 0644) == 0);
	pid = spawn(reader_child, NULL);	/* before we attach anything */
	close(to_child[0]);
	close(to_parent[1]);

	w = raw_attach(fd, SZ, RW);
	fill_pattern(w + 4096, SZ - 4096, '0');

	/* the same process, a second, read-only window */
	rofd = EXPECT_OK(open(mpath("ro"), O_RDONLY));
	EXPECT_ERRNO(mmap(NULL, SZ, RW, MAP_SHARED, rofd, 0), EACCES);
	r = raw_attach(rofd, SZ, PROT_READ);
	CHECK(verify_pattern(r + 4096, SZ - 4096, '0') == -1);
	CHECK(probe_write(r + 4096, 0xee) == SIGSEGV);
	CHECK(cannot_write(r) == 0);
	CHECK(verify_pattern(w + 4096, SZ - 4096, '0') == -1);
	w[100] = 42;
	CHECK(r[100] == 42);

	/* another process, following generations */
	send_byte(to_child[1], 'a');
	CHECK(wait_byte(to_parent[0]) == 'r');
	for (char g = '1'; g <= '4'; g++) {
		fill_pattern(w + 4096, SZ - 4096, (uint64_t)g);
		CHECK(verify_pattern(r + 4096, SZ - 4096, (uint64_t)g) == -1);
		send_byte(to_child[1], g);
		CHECKF(wait_byte(to_parent[0]) == g, "reader child failed at generation %c", g);
	}
	/* the writer keeps writing page 0 while the reader tries to write */
	fill_pattern(w + 4096, SZ - 4096, 9);
	send_byte(to_child[1], 'c');
	{
		int n = 0;

		for (;;) {
			fd_set set;
			struct timeval tv = { 0, 1000 };

			FD_ZERO(&set);
			FD_SET(to_parent[0], &set);
			((volatile uint64_t *)w)[n % 512] = (uint64_t)n;
			n++;
			if (select(to_parent[0] + 1, &set, NULL, NULL, &tv) > 0)
				break;
		}
	}
	CHECK(wait_byte(to_parent[0]) == 'd');
	st = wait_status(pid);
	CHECKF(st == 0, "reader child status %d", st);
	CHECKF(verify_pattern(w + 4096, SZ - 4096, 9) == -1, "a read-only write landed");
	CHECKF(verify_pattern(r + 4096, SZ - 4096, 9) == -1, "a read-only write landed");

	/* a non-root reader of the 0644 region */
	st = run_child_as(1000, 1000, nonroot_reader, NULL);
	CHECKF(st == 0, "uid 1000 reader status %d", st);
	CHECK(verify_pattern(w + 4096, SZ - 4096, 9) == -1);
	CHECK(cannot_write(r) == 0);

	CHECK(munmap(r, SZ) == 0);
	CHECK(munmap(w, SZ) == 0);
	close(rofd);
	close(fd);
	CHECK(unlink(mpath("ro")) == 0);
	live_done();
}
