// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The functions libmshare-preload exports, which take the place of libc's
 * in every object of the program that the dynamic linker binds to the
 * first definition (all but those loaded with RTLD_DEEPBIND, and calls
 * libc makes to itself), and the constructor.
 *
 * Built without _FILE_OFFSET_BITS: <sys/mman.h> would otherwise rename
 * mmap to mmap64 here (both are the same function on 64-bit systems).
 */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "shim.h"

_Static_assert(sizeof(off_t) == 8, "64-bit off_t");

MSP_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off)
{
	return msp_mmap(addr, len, prot, flags, fd, off);
}

MSP_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
			off_t off) __attribute__((alias("mmap")));

MSP_EXPORT int munmap(void *addr, size_t len)
{
	return msp_munmap(addr, len);
}

MSP_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags,
			...)
{
	void *new_addr = NULL;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	return msp_mremap(old, old_len, new_len, flags, new_addr);
}

MSP_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	return msp_mprotect(addr, len, prot);
}

MSP_EXPORT int madvise(void *addr, size_t len, int advice)
{
	return msp_madvise(addr, len, advice);
}

MSP_EXPORT int posix_madvise(void *addr, size_t len, int advice)
{
	return msp_posix_madvise(addr, len, advice);
}

MSP_EXPORT int shmget(key_t key, size_t size, int flags)
{
	return msp_shmget(key, size, flags);
}

MSP_EXPORT void *shmat(int id, const void *addr, int flags)
{
	return msp_shmat(id, addr, flags);
}

MSP_EXPORT int shmdt(const void *addr)
{
	return msp_shmdt(addr);
}

MSP_EXPORT int shmctl(int id, int cmd, struct shmid_ds *buf)
{
	return msp_shmctl(id, cmd, buf);
}

/*
 * dlopen(): RTLD_DEEPBIND makes a library bind to its own dependencies
 * (libc) before the program's global scope, so past this library: it is
 * dropped for the libraries MSHARE_NODEEPBIND names.  libc's dlopen() looks
 * at its return address to know its caller (whose RUNPATH and namespace
 * apply), so on x86-64 ours jumps to it rather than calling it.
 */
typedef void *dlopen_fn(const char *, int);
__attribute__((visibility("hidden"))) dlopen_fn *msp_real_dlopen;
__attribute__((visibility("hidden"))) int msp_dlopen_mode(const char *file,
							  int mode);

static void resolve_dlopen(void)
{
	void *sym = dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.34");

	if (!sym)
		sym = dlsym(RTLD_NEXT, "dlopen");
	if (!sym) {
		static const char msg[] =
			"libmshare-preload: cannot find the next dlopen()\n";

		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			abort();
		abort();
	}
	__atomic_store_n(&msp_real_dlopen, (dlopen_fn *)sym, __ATOMIC_RELEASE);
}

static pthread_once_t dlopen_once = PTHREAD_ONCE_INIT;

int msp_dlopen_mode(const char *file, int mode)
{
	pthread_once(&dlopen_once, resolve_dlopen);
	if (!(mode & RTLD_DEEPBIND) || !file)
		return mode;
	msp_config_ensure();
	if (!msp_list_match(msp_cfg.nodeepbind, file))
		return mode;
	msp_log("dlopen(%s): RTLD_DEEPBIND dropped (MSHARE_NODEEPBIND)", file);
	return mode & ~RTLD_DEEPBIND;
}

#if defined(__x86_64__)
__asm__(
	"	.text\n"
	"	.globl	dlopen\n"
	"	.type	dlopen, @function\n"
	"dlopen:\n"
	"	.cfi_startproc\n"
	"	pushq	%rdi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	pushq	%rsi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	subq	$8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call	msp_dlopen_mode\n"
	"	addq	$8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq	%rsi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq	%rdi\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	movl	%eax, %esi\n"
	"	jmp	*msp_real_dlopen(%rip)\n"
	"	.cfi_endproc\n"
	"	.size	dlopen, .-dlopen\n");
#else
MSP_EXPORT void *dlopen(const char *file, int mode)
{
	mode = msp_dlopen_mode(file, mode);
	return msp_real_dlopen(file, mode);
}
#endif

__attribute__((constructor)) static void msp_init(void)
{
	msp_config_ensure();
	pthread_once(&dlopen_once, resolve_dlopen);
	pthread_atfork(msp_lock_atfork_prepare, msp_lock_atfork_parent,
		       msp_lock_atfork_child);
}
