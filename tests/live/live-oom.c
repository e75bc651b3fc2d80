// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-oom: a memory hog drives the VM to the kernel's out-of-memory killer
 * while a region is attached (HACKING.md "Map of hazards", OOM reaper).
 * - The test process creates and fills a region; a verifier (another
 *   process, its own window) checks the region's bytes over and over; both
 *   have oom_score_adj -1000, so the OOM killer never picks them.
 * - A victim attacher (its own window, reading it, oom_score_adj 1000) and
 *   a hog (oom_score_adj 0, populating private anonymous memory until it
 *   dies) run beside them.  The first OOM kill takes the victim (its score
 *   is all of RAM), the next one the hog.  The OOM reaper skips the
 *   victim's window (a shared file mapping); its exit unlinks the tables
 *   as any exit does.
 * - Afterwards: both died of SIGKILL, the verifier never saw a wrong byte
 *   and ran all along, the region holds its pattern, the region's
 *   statistics count the two attachers left, and its tables and links are
 *   what those two need.  The harness checks the kernel log (the two OOM
 *   reports between this test's "mshare-expect: oom" markers are expected,
 *   nothing else is) and, after the unmount, for leaks.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/msharefs.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCH	4
#define SZ	(NCH * GRANULE)
#define RW	(PROT_READ | PROT_WRITE)
#define NAME	"oom"
#define SEED	0x00b1ULL
#define CHUNK	(16L << 20)

struct ctl {
	atomic_int stop;
	atomic_int ready;
	atomic_long verifies;	/* the verifier's complete passes */
	atomic_long bad;	/* passes that found a wrong word */
	atomic_long victim_reads;
	atomic_long hog_mib;
};

static struct ctl *ctl;
static int fd;

static void set_oom_score_adj(const char *v)
{
	CHECKF(proc_write("/proc/self/oom_score_adj", v) == 0,
	       "oom_score_adj %s: %s", v, strerror(errno));
}

static int verifier(void *arg)
{
	char *w;

	(void)arg;
	set_oom_score_adj("-1000");
	cpu_pin(cpus_online() > 1 ? 1 : 0);
	w = attach_by_name(NAME, SZ, RW);
	if (!w)
		return 10;
	atomic_fetch_add(&ctl->ready, 1);
	while (!atomic_load(&ctl->stop)) {
		if (verify_pattern(w, SZ, SEED) != -1)
			atomic_fetch_add(&ctl->bad, 1);
		atomic_fetch_add(&ctl->verifies, 1);
	}
	return munmap(w, SZ) ? 11 : 0;
}

/* Attached, reading, and the OOM killer's first choice. */
static int victim(void *arg)
{
	const volatile uint64_t *w;
	size_t i = 0;

	(void)arg;
	set_oom_score_adj("1000");
	w = (const volatile uint64_t *)attach_by_name(NAME, SZ, RW);
	if (!w)
		return 10;
	atomic_fetch_add(&ctl->ready, 1);
	for (;;) {
		if (w[i] != pattern_word(SEED, i))
			atomic_fetch_add(&ctl->bad, 1);
		i = (i + 4096 / 8 + 1) % (SZ / 8);
		atomic_fetch_add(&ctl->victim_reads, 1);
	}
	return 0;
}

/* Private anonymous memory, populated 16 MiB at a time, until killed. */
static int hog(void *arg)
{
	(void)arg;
	set_oom_score_adj("0");
	for (;;) {
		void *p = mmap(NULL, CHUNK, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
			       -1, 0);

		if (p == MAP_FAILED) {
			usleep(1000);
			continue;
		}
		atomic_fetch_add(&ctl->hog_mib, CHUNK >> 20);
	}
	return 0;
}

int main(void)
{
	struct msharefs_region_stat st;
	pid_t vpid, apid, hpid;
	long t0, used0;
	char *win;
	int s_victim, s_hog, s_ver;

	live_init("live-oom");
	set_oom_score_adj("-1000");
	ctl = mmap(NULL, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ctl != MAP_FAILED);
	fd = raw_create(NAME, SZ);
	win = raw_attach(fd, SZ, RW);
	fill_pattern(win, SZ, SEED);
	used0 = used_pages(MNT);

	vpid = spawn(verifier, NULL);
	apid = spawn(victim, NULL);
	t0 = now_ms();
	while (atomic_load(&ctl->ready) < 2 || atomic_load(&ctl->verifies) < 1 ||
	       atomic_load(&ctl->victim_reads) < 1) {
		CHECKF(now_ms() - t0 < wait_ms(20000), "the attachers did not start");
		usleep(10000);
	}
	EXPECT_OK(ioctl(fd, MSHAREFS_GET_REGION_STAT, &st));
	CHECKF(st.attachers == 3, "%llu attachers before the hog, want 3", st.attachers);

	klog_mark("mshare-expect: oom begin");
	hpid = spawn(hog, NULL);
	s_victim = wait_status(apid);
	s_hog = wait_status(hpid);
	klog_mark("mshare-expect: oom end");
	printf("note: oom: the hog populated %ld MiB; the victim read %ld words; %ld verifier passes meanwhile\n",
	       atomic_load(&ctl->hog_mib), atomic_load(&ctl->victim_reads),
	       atomic_load(&ctl->verifies));
	fflush(stdout);
	CHECKF(s_victim == 128 + SIGKILL, "the victim attacher ended with status %d, want SIGKILL",
	       s_victim);
	CHECKF(s_hog == 128 + SIGKILL, "the hog ended with status %d, want SIGKILL", s_hog);

	/* The verifier survived and goes on seeing the same bytes. */
	t0 = atomic_load(&ctl->verifies);
	while (atomic_load(&ctl->verifies) < t0 + 2) {
		CHECKF(kill(vpid, 0) == 0, "the verifier is gone");
		usleep(10000);
	}
	atomic_store(&ctl->stop, 1);
	s_ver = wait_status(vpid);
	CHECKF(s_ver == 0, "the verifier ended with status %d", s_ver);
	CHECKF(atomic_load(&ctl->bad) == 0, "%ld passes or reads saw a wrong word",
	       atomic_load(&ctl->bad));

	CHECKF(verify_pattern(win, SZ, SEED) == -1, "the region lost its pattern");
	EXPECT_OK(ioctl(fd, MSHAREFS_GET_REGION_STAT, &st));
	CHECKF(st.attachers == 1, "%llu attachers after the kills and the verifier, want 1",
	       st.attachers);
	CHECKF(st.pt_links == NCH, "%llu links with one attacher left, want %d", st.pt_links,
	       NCH);
	CHECKF(used_pages(MNT) == used0, "the mount holds %ld pages, held %ld before",
	       used_pages(MNT), used0);

	CHECK(munmap(win, SZ) == 0);
	EXPECT_OK(ioctl(fd, MSHAREFS_GET_REGION_STAT, &st));
	CHECK(st.attachers == 0 && st.pt_links == 0);
	close(fd);
	CHECK(unlink(mpath(NAME)) == 0);
	live_done();
}
