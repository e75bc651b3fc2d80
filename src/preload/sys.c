// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel, for libmshare-preload: every call by syscall(2), never by
 * the libc functions the library interposes (and none allocates).  The
 * unit tests link a fake of this file instead.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

void *msp_sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
		   off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

int msp_sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

void *msp_sys_mremap(void *old, size_t old_len, size_t new_len, int flags,
		     void *new_addr)
{
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags,
			       new_addr);
}

int msp_sys_mprotect(void *addr, size_t len, int prot)
{
	return (int)syscall(SYS_mprotect, addr, len, prot);
}

int msp_sys_madvise(void *addr, size_t len, int advice)
{
	return (int)syscall(SYS_madvise, addr, len, advice);
}

int msp_sys_shmget(key_t key, size_t size, int flags)
{
	return (int)syscall(SYS_shmget, key, size, flags);
}

void *msp_sys_shmat(int id, const void *addr, int flags)
{
	return (void *)syscall(SYS_shmat, id, addr, flags);
}

int msp_sys_shmdt(const void *addr)
{
	return (int)syscall(SYS_shmdt, addr);
}

int msp_sys_shmctl(int id, int cmd, struct shmid_ds *buf)
{
	return (int)syscall(SYS_shmctl, id, cmd, buf);
}

int msp_sys_open(const char *path, int flags, mode_t mode)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

int msp_sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

int msp_sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	return syscall(SYS_ioctl, fd, cmd, arg);
}

ssize_t msp_sys_read(int fd, void *buf, size_t len)
{
	return syscall(SYS_read, fd, buf, len);
}

int msp_sys_ftruncate(int fd, off_t len)
{
	return (int)syscall(SYS_ftruncate, fd, len);
}

int msp_sys_fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}

int msp_sys_fchmod(int fd, mode_t mode)
{
	return (int)syscall(SYS_fchmod, fd, mode);
}

int msp_sys_chmod(const char *path, mode_t mode)
{
	return (int)syscall(SYS_fchmodat, AT_FDCWD, path, mode);
}

int msp_sys_chown(const char *path, uid_t uid, gid_t gid)
{
	return (int)syscall(SYS_fchownat, AT_FDCWD, path, uid, gid,
			    AT_SYMLINK_NOFOLLOW);
}

int msp_sys_statfs(const char *path, struct statfs *st)
{
	return (int)syscall(SYS_statfs, path, st);
}

int msp_sys_unlink(const char *path)
{
	return (int)syscall(SYS_unlinkat, AT_FDCWD, path, 0);
}

int msp_sys_mkdir(const char *path, mode_t mode)
{
	return (int)syscall(SYS_mkdirat, AT_FDCWD, path, mode);
}

int msp_sys_rmdir(const char *path)
{
	return (int)syscall(SYS_unlinkat, AT_FDCWD, path, AT_REMOVEDIR);
}

int msp_sys_flock(int fd, int op)
{
	return (int)syscall(SYS_flock, fd, op);
}

ssize_t msp_sys_getdents(int fd, void *buf, size_t len)
{
	return syscall(SYS_getdents64, fd, buf, len);
}

long msp_sys_page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}
