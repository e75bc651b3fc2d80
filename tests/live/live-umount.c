// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-umount: a second msharefs instance (mount(2) at a /tmp directory)
 * is independent of /sys/fs/mshare (names, data, page counts); umount is
 * EBUSY while a window is attached (also one held by a forked child, or
 * of an unlinked region) or an fd is open, and succeeds after detach +
 * close, even with regions left in it; a new mount starts empty.
 */
#include "common.h"

#include <fcntl.h>
#include <linux/msharefs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define SZ (4 * MIB)
#define RW (PROT_READ | PROT_WRITE)

static int to_child[2];

static void do_mount(void)
{
	struct statfs sf;

	CHECK(mount("none", m2, MSHAREFS_FSTYPE, 0, NULL) == 0);
	m2_mounted = true;
	CHECK(statfs(m2, &sf) == 0 && sf.f_type == MSHAREFS_MAGIC);
	CHECK(used_pages(m2) == 0);
}

static void do_umount(void)
{
	struct statfs sf;

	CHECK(umount(m2) == 0);
	m2_mounted = false;
	CHECK(statfs(m2, &sf) == 0 && sf.f_type != MSHAREFS_MAGIC);
}

static int holder(void *arg)
{
	char c;

	(void)arg;
	close(to_child[1]);
	return read(to_child[0], &c, 1) == 1 ? 0 : 1;
}

int main(void)
{
	char buf[32], *w, *w1;
	struct stat st;
	long used_main;
	int fd, fd1, ifd, n;
	pid_t pid;

	live_init("live-umount");
	mount2_dir();
	do_mount();

	/* ---- the second instance has its own mshare_info ---- */
	ifd = EXPECT_OK(open(p2("mshare_info"), O_RDONLY));
	n = (int)read(ifd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECKF(!strcmp(buf, "549755813888\n"), "mshare_info: %s", buf);	/* upstream's unit */
	close(ifd);
	EXPECT_ERRNO(unlink(p2("mshare_info")), EPERM);

	/* ---- independence ---- */
	used_main = used_pages(MNT);
	fd = EXPECT_OK(open(p2("same"), O_RDWR | O_CREAT | O_EXCL, 0600));
	fd1 = raw_create("same", SZ);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 0);	/* not the other one */
	CHECK(ftruncate(fd, 2 * SZ) == 0);
	w = raw_attach(fd, 2 * SZ, RW);
	w1 = raw_attach(fd1, SZ, RW);
	fill_pattern(w, 2 * SZ, 2);
	CHECK(used_pages(m2) == (long)(2 * SZ) / page_size());
	CHECK(used_pages(MNT) == used_main);
	fill_pattern(w1, SZ, 1);
	CHECK(used_pages(MNT) == used_main + (long)SZ / page_size());
	CHECK(used_pages(m2) == (long)(2 * SZ) / page_size());
	CHECK(verify_pattern(w, 2 * SZ, 2) == -1);
	CHECK(verify_pattern(w1, SZ, 1) == -1);
	ifd = EXPECT_OK(open(p2("only2"), O_RDWR | O_CREAT | O_EXCL, 0600));
	close(ifd);
	CHECK(access(mpath("only2"), F_OK) != 0);

	/* ---- umount is EBUSY while attached ---- */
	EXPECT_ERRNO(umount(m2), EBUSY);
	close(fd);
	EXPECT_ERRNO(umount(m2), EBUSY);	/* the window alone */
	CHECK(verify_pattern(w, 2 * SZ, 2) == -1);
	CHECK(unlink(p2("same")) == 0);
	EXPECT_ERRNO(umount(m2), EBUSY);	/* window of an unlinked region */
	CHECK(verify_pattern(w, 2 * SZ, 2) == -1);
	CHECK(munmap(w, 2 * SZ) == 0);
	CHECK(wait_used_pages(m2, 0) == 0);
	/* an open fd alone */
	fd = EXPECT_OK(open(p2("only2"), O_RDWR));
	EXPECT_ERRNO(umount(m2), EBUSY);
	close(fd);

	/* ---- detached and closed: umount works, with a region left inside ---- */
	fd = EXPECT_OK(open(p2("left"), O_RDWR | O_CREAT | O_EXCL, 0600));
	CHECK(ftruncate(fd, SZ) == 0);
	w = raw_attach(fd, SZ, RW);
	touch_pages(w, SZ, 5);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	do_umount();
	CHECK(access(p2("left"), F_OK) != 0);

	/* ---- a new mount starts empty ---- */
	do_mount();
	CHECK(access(p2("left"), F_OK) != 0 && access(p2("only2"), F_OK) != 0);
	CHECK(access(p2("mshare_info"), F_OK) == 0);

	/* ---- a forked child holding the window keeps the mount busy ---- */
	CHECK(pipe(to_child) == 0);
	fd = EXPECT_OK(open(p2("held"), O_RDWR | O_CREAT | O_EXCL, 0600));
	CHECK(ftruncate(fd, SZ) == 0);
	w = raw_attach(fd, SZ, RW);
	touch_pages(w, SZ, 6);
	pid = spawn(holder, NULL);
	close(to_child[0]);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	EXPECT_ERRNO(umount(m2), EBUSY);
	CHECK(write(to_child[1], "x", 1) == 1);
	CHECK(wait_status(pid) == 0);
	close(to_child[1]);
	do_umount();

	/* ---- the main mount did not notice any of this ---- */
	CHECK(verify_pattern(w1, SZ, 1) == -1);
	CHECK(used_pages(MNT) == used_main + (long)SZ / page_size());
	CHECK(munmap(w1, SZ) == 0);
	close(fd1);
	CHECK(unlink(mpath("same")) == 0);
	CHECK(rmdir(m2) == 0);
	m2[0] = 0;
	live_done();
}
