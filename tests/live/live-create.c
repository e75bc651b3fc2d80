// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-create: regions are files.  open(O_CREAT) creates, O_EXCL gives
 * EEXIST, mkdir/rmdir make directories, the VFS checks uid/gid/mode (a
 * process at uid/gid 1000 gets EACCES where it should), new files get the
 * creator's uid/gid, symlink/mknod/link are EPERM.  Raw syscalls and
 * mcreate()/mshare_unlink().
 */
#include "common.h"

#include <dirent.h>
#include <fcntl.h>
#include <libmshare.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#define UID 1000
#define GID 1000

static bool in_root(const char *name)
{
	DIR *d = opendir(MNT);
	struct dirent *de;
	bool found = false;

	CHECK(d != NULL);
	while ((de = readdir(d)))
		if (!strcmp(de->d_name, name))
			found = true;
	closedir(d);
	return found;
}

/* ---- children running as uid/gid 1000 (return 0 = all as expected) ---- */

static int expect_open(const char *path, int flags, int err)
{
	int fd = open(path, flags);

	if (err == 0 && fd >= 0) {
		close(fd);
		return 0;
	}
	if (err != 0 && fd < 0 && errno == err)
		return 0;
	fprintf(stderr, "uid %d: open %s flags %#x: got %d (%s), want %s\n",
		(int)getuid(), path, flags, fd, fd < 0 ? strerror(errno) : "ok",
		err ? live_errname(err) : "success");
	return 1;
}

static int child_p600(void *arg)
{
	(void)arg;
	/* positive control: the mount is reachable at all for uid 1000 */
	if (expect_open(MNT "/mshare_info", O_RDONLY, 0))
		return 16;
	return expect_open(mpath("p600"), O_RDONLY, EACCES) |
	       expect_open(mpath("p600"), O_RDWR, EACCES) << 1 |
	       expect_open(mpath("p600"), O_WRONLY, EACCES) << 2 |
	       (mcreate("p600", O_RDONLY, 0) == -1 && errno == EACCES ? 0 : 8);
}

static int child_p644(void *arg)
{
	int fd;

	(void)arg;
	if (expect_open(mpath("p644"), O_RDONLY, 0) ||
	    expect_open(mpath("p644"), O_RDWR, EACCES))
		return 1;
	fd = mcreate("p644", O_RDONLY, 0);
	if (fd < 0)
		return 2;
	close(fd);
	if (mcreate("p644", O_RDWR, 0) != -1 || errno != EACCES)
		return 3;
	/* nor can it remove it (EPERM in a sticky directory, else EACCES) */
	if (unlink(mpath("p644")) != -1 || (errno != EACCES && errno != EPERM))
		return 4;
	return 0;
}

static int child_p666(void *arg)
{
	(void)arg;
	return expect_open(mpath("p666"), O_RDWR, 0);
}

static int child_rdwr(void *path)
{
	return expect_open(path, O_RDWR, 0);
}

static int child_rdonly_only(void *path)
{
	return expect_open(path, O_RDONLY, 0) | expect_open(path, O_RDWR, EACCES) << 1;
}

static int child_create(void *arg)
{
	int fd;

	(void)arg;
	/* no write permission on a root 0755 directory */
	if (open(mpath("priv/x"), O_RDWR | O_CREAT, 0600) != -1 || errno != EACCES)
		return 1;
	if (mkdir(mpath("priv/d"), 0700) != -1 || errno != EACCES)
		return 2;
	/* a 0777 directory: create there, raw and through the library */
	fd = open(mpath("pub/raw"), O_RDWR | O_CREAT | O_EXCL, 0640);
	if (fd < 0)
		return 3;
	close(fd);
	fd = mcreate("pub/lib", O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 4;
	close(fd);
	if (mkdir(mpath("pub/dir"), 0750))
		return 5;
	return 0;
}

static void check_owner(const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;

	CHECKF(stat(mpath(name), &st) == 0, "stat %s", name);
	CHECKF(st.st_uid == uid && st.st_gid == gid,
	       "%s owned by %d:%d, want %d:%d", name, (int)st.st_uid,
	       (int)st.st_gid, (int)uid, (int)gid);
	CHECKF((st.st_mode & 07777) == mode, "%s mode %o, want %o", name,
	       st.st_mode & 07777, mode);
}

int main(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st, st2;
	int fd, fd2, s, st_c;

	live_init("live-create");
	umask(0);

	/* ---- raw create / O_EXCL / reopen ---- */
	EXPECT_ERRNO(open(mpath("r1"), O_RDWR), ENOENT);
	fd = EXPECT_OK(open(mpath("r1"), O_RDWR | O_CREAT | O_EXCL, 0600));
	CHECK(fstat(fd, &st) == 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK((st.st_mode & 07777) == 0600);
	CHECK(st.st_uid == 0 && st.st_gid == 0);
	CHECK(st.st_size == 0);
	CHECK(st.st_blocks == 0);
	CHECK(in_root("r1"));
	EXPECT_ERRNO(open(mpath("r1"), O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	fd2 = EXPECT_OK(open(mpath("r1"), O_RDWR | O_CREAT, 0600));
	CHECK(fstat(fd2, &st2) == 0 && st2.st_ino == st.st_ino);
	close(fd2);
	fd2 = EXPECT_OK(open(mpath("r1"), O_RDONLY));
	close(fd2);

	/* ---- library create ---- */
	fd2 = EXPECT_OK(mcreate("l1", O_RDWR | O_CREAT | O_EXCL, 0640));
	CHECK(stat(mpath("l1"), &st2) == 0 && S_ISREG(st2.st_mode));
	CHECK((st2.st_mode & 07777) == 0640);
	EXPECT_ERRNO(mcreate("l1", O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	EXPECT_ERRNO(mcreate("/l1", O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	EXPECT_ERRNO(mcreate("nope", O_RDWR, 0), ENOENT);
	close(fd2);

	/* ---- symlink / mknod / link: EPERM ---- */
	EXPECT_ERRNO(symlink("r1", mpath("sl")), EPERM);
	EXPECT_ERRNO(symlink("/etc/passwd", mpath("sl")), EPERM);
	EXPECT_ERRNO(mknod(mpath("fifo"), S_IFIFO | 0600, 0), EPERM);
	EXPECT_ERRNO(mkfifo(mpath("fifo"), 0600), EPERM);
	EXPECT_ERRNO(mknod(mpath("chr"), S_IFCHR | 0600, makedev(1, 3)), EPERM);
	EXPECT_ERRNO(mknod(mpath("blk"), S_IFBLK | 0600, makedev(7, 0)), EPERM);
	EXPECT_ERRNO(link(mpath("r1"), mpath("hard")), EPERM);
	EXPECT_ERRNO(linkat(fd, "", AT_FDCWD, mpath("hard"), AT_EMPTY_PATH), EPERM);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(s >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", mpath("sock"));
	EXPECT_ERRNO(bind(s, (struct sockaddr *)&sun, sizeof(sun)), EPERM);
	close(s);
	CHECK(!in_root("sl") && !in_root("fifo") && !in_root("chr") &&
	      !in_root("blk") && !in_root("hard") && !in_root("sock"));
	CHECK(fstat(fd, &st2) == 0 && st2.st_nlink == 1);
	close(fd);

	/* ---- directories ---- */
	CHECK(mkdir(mpath("d"), 0755) == 0);
	CHECK(stat(mpath("d"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK((st.st_mode & 07777) == 0755);
	EXPECT_ERRNO(mkdir(mpath("d"), 0755), EEXIST);
	EXPECT_ERRNO(mkdir(mpath("r1"), 0755), EEXIST);
	CHECK(mkdir(mpath("d/e"), 0700) == 0);
	fd = EXPECT_OK(open(mpath("d/e/r"), O_RDWR | O_CREAT | O_EXCL, 0600));
	close(fd);
	fd = EXPECT_OK(mcreate("d/e/lr", O_RDWR | O_CREAT | O_EXCL, 0600));
	close(fd);
	CHECK(access(mpath("d/e/lr"), F_OK) == 0);
	EXPECT_ERRNO(rmdir(mpath("d/e")), ENOTEMPTY);
	EXPECT_ERRNO(rmdir(mpath("r1")), ENOTDIR);
	EXPECT_ERRNO(unlink(mpath("d/e")), EISDIR);
	EXPECT_ERRNO(open(mpath("nodir/r"), O_RDWR | O_CREAT, 0600), ENOENT);
	CHECK(unlink(mpath("d/e/r")) == 0);
	EXPECT_OK(mshare_unlink("d/e/lr"));
	EXPECT_ERRNO(mshare_unlink("d/e/lr"), ENOENT);
	CHECK(rmdir(mpath("d/e")) == 0);
	CHECK(rmdir(mpath("d")) == 0);
	EXPECT_ERRNO(rmdir(mpath("d")), ENOENT);

	/* ---- permissions for uid/gid 1000 ---- */
	fd = EXPECT_OK(open(mpath("p600"), O_RDWR | O_CREAT | O_EXCL, 0600));
	close(fd);
	fd = EXPECT_OK(open(mpath("p644"), O_RDWR | O_CREAT | O_EXCL, 0644));
	close(fd);
	fd = EXPECT_OK(open(mpath("p666"), O_RDWR | O_CREAT | O_EXCL, 0666));
	close(fd);
	CHECKF((st_c = run_child_as(UID, GID, child_p600, NULL)) == 0, "0600 root region: %d", st_c);
	CHECKF((st_c = run_child_as(UID, GID, child_p644, NULL)) == 0, "0644 root region: %d", st_c);
	CHECKF((st_c = run_child_as(UID, GID, child_p666, NULL)) == 0, "0666 root region: %d", st_c);
	/* chmod/chown are honoured by later opens */
	CHECK(chmod(mpath("p600"), 0604) == 0);
	check_owner("p600", 0, 0, 0604);
	CHECKF(run_child_as(UID, GID, child_rdonly_only, (void *)mpath("p600")) == 0,
	       "0604 root region");
	CHECK(chown(mpath("p644"), UID, GID) == 0);
	CHECK(chmod(mpath("p644"), 0600) == 0);
	check_owner("p644", UID, GID, 0600);
	CHECKF(run_child_as(UID, GID, child_rdwr, (void *)mpath("p644")) == 0,
	       "0600 region owned by 1000");
	CHECK(chown(mpath("p644"), 0, GID) == 0);
	CHECK(chmod(mpath("p644"), 0640) == 0);
	check_owner("p644", 0, GID, 0640);
	CHECKF(run_child_as(UID, GID, child_rdonly_only, (void *)mpath("p644")) == 0,
	       "0640 region of group 1000");
	CHECK(unlink(mpath("p600")) == 0);
	CHECK(unlink(mpath("p644")) == 0);
	CHECK(unlink(mpath("p666")) == 0);

	/* ---- new files get the creator's uid/gid ---- */
	CHECK(mkdir(mpath("priv"), 0755) == 0);
	CHECK(mkdir(mpath("pub"), 0777) == 0);
	CHECKF((st_c = run_child_as(UID, GID, child_create, NULL)) == 0, "uid 1000 creates: %d", st_c);
	check_owner("pub/raw", UID, GID, 0640);
	check_owner("pub/lib", UID, GID, 0600);
	check_owner("pub/dir", UID, GID, 0750);
	CHECK(access(mpath("priv/x"), F_OK) != 0);
	CHECK(unlink(mpath("pub/raw")) == 0);
	CHECK(mshare_unlink("pub/lib") == 0);
	CHECK(rmdir(mpath("pub/dir")) == 0);
	CHECK(rmdir(mpath("pub")) == 0);
	CHECK(rmdir(mpath("priv")) == 0);
	CHECK(unlink(mpath("r1")) == 0);
	CHECK(mshare_unlink("l1") == 0);

	live_done();
}
