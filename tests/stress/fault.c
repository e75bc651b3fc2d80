// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fault storm: procs processes x threads threads fault the same fresh
 * 2 MiB chunk at once, chunk after chunk, region after region.
 *
 * Each process attaches every region four times, once per table set:
 * read-write, read-only, read+exec and read-write+exec, so every chunk
 * gets one table in each of the four sets.  Per chunk, all threads wait
 * on a barrier, then each touches a random page of the chunk through each
 * of its windows in a random order (so all sets are built under
 * contention, and the first fault of a fresh region's windows registers
 * the mm from every thread at once), writes its own slot word (page 1 +
 * its index) through a writable window and reads it back through all
 * four; after a second barrier everyone verifies every slot through all
 * windows and that the other pages read zero.  Meanwhile the parent
 * checks, per chunk:
 *   - st_blocks grew by 4096 and the mount's used pages by 512;
 *   - PageTables grew by at most 4 tables (16 KiB), plus up to 4 KiB for
 *     each window chunk that entered a new 1 GiB span of its process (a
 *     new PMD page); chunk 0 of each region is not checked this way (PMD
 *     pages of the fresh windows).  Over all chunks, the growth is at
 *     least 16 KiB per chunk less 64 KiB (page tables other processes
 *     free meanwhile), so no table set is ever missing or shared.
 */
#include "stress.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FMAXP 64
#define FMAXT 8
#define NWIN 4			/* one window per table set */

static const int win_prot[NWIN] = {
	PROT_READ | PROT_WRITE, PROT_READ, PROT_READ | PROT_EXEC,
	PROT_READ | PROT_WRITE | PROT_EXEC,
};
static const char *const win_desc[NWIN] = { "RW", "RO", "RX", "RWX" };

struct fctl {
	struct stress_ctl c;
	struct sbar bar;
	uintptr_t win[FMAXP][NWIN];	/* per process: its windows of the region */
	_Atomic long faults;
	_Atomic long verifies;
};

static struct fctl *fc;
static const struct fault_params *fp;

/* per child process */
static int me;
static char *wins[NWIN];
static int win_fd = -1;

static void region_name(char *buf, size_t len, int r)
{
	snprintf(buf, len, "stress-fault-%d", r);
}

static uint64_t slot_value(int r, int c, int slot)
{
	return mix64((uint64_t)r, (uint64_t)c, (uint64_t)slot, 0xfa17) | 1;
}

static int nslots(void)
{
	return fp->procs * fp->threads;
}

static void verify_chunk(int r, int c, const char *w, const char *which)
{
	size_t ps = (size_t)page_size();
	const char *chunk = w + (size_t)c * GRANULE;
	int n = nslots();

	for (int s = 0; s < n; s++) {
		uint64_t v = *(const volatile uint64_t *)(chunk + (size_t)(1 + s) * ps);

		if (v != slot_value(r, c, s)) {
			sfail(&fc->c, "region %d chunk %d %s window: slot %d reads %#llx, want %#llx (lost write)",
			      r, c, which, s, (unsigned long long)v,
			      (unsigned long long)slot_value(r, c, s));
			return;
		}
	}
	for (size_t pg = 0; pg < GRANULE / ps; pg++) {
		uint64_t v;

		if (pg >= 1 && pg <= (size_t)n)
			continue;
		v = *(const volatile uint64_t *)(chunk + pg * ps + (pg % 512) * 8 % ps);
		if (v) {
			sfail(&fc->c, "region %d chunk %d %s window: page %zu reads %#llx, want 0",
			      r, c, which, pg, (unsigned long long)v);
			return;
		}
	}
}

static void *fthread(void *arg)
{
	int t = (int)(intptr_t)arg, slot = me * fp->threads + t;
	size_t ps = (size_t)page_size();
	uint64_t rng = rng_seed((uint64_t)slot);
	char name[64];

	pin_cpu(slot);
	for (int r = 0; r < fp->regions; r++) {
		if (sbar_wait(&fc->bar, &fc->c))	/* B0: region created */
			return NULL;
		if (t == 0) {
			region_name(name, sizeof(name), r);
			win_fd = open(mpath(name), O_RDWR | O_CLOEXEC);
			if (win_fd < 0) {
				sfail(&fc->c, "open %s: %s", name, strerror(errno));
				return NULL;
			}
			for (int k = 0; k < NWIN; k++) {
				wins[k] = mmap(NULL, (size_t)fp->chunks * GRANULE, win_prot[k],
					       MAP_SHARED, win_fd, 0);
				if (wins[k] == MAP_FAILED) {
					sfail(&fc->c, "mmap %s %s: %s", name, win_desc[k],
					      strerror(errno));
					return NULL;
				}
				fc->win[me][k] = (uintptr_t)wins[k];
			}
		}
		if (sbar_wait(&fc->bar, &fc->c))	/* B1: attached */
			return NULL;
		for (int c = 0; c < fp->chunks; c++) {
			size_t off = (size_t)c * GRANULE;
			int order[NWIN] = { 0, 1, 2, 3 };
			char *wr = wins[rng_below(&rng, 2) ? 0 : 3];

			for (int k = NWIN - 1; k > 0; k--) {	/* shuffle */
				int j = (int)rng_below(&rng, (uint64_t)k + 1), x = order[k];

				order[k] = order[j];
				order[j] = x;
			}
			if (sbar_wait(&fc->bar, &fc->c))	/* B2: go */
				return NULL;
			/* everyone at once: first accesses of a fresh chunk */
			for (int k = 0; k < NWIN; k++)
				(void)*(volatile uint64_t *)(wins[order[k]] + off +
							     rng_below(&rng, GRANULE / 8) * 8);
			*(volatile uint64_t *)(wr + off + (size_t)(1 + slot) * ps) =
				slot_value(r, c, slot);
			for (int k = 0; k < NWIN; k++)
				if (*(volatile uint64_t *)(wins[k] + off + (size_t)(1 + slot) * ps) !=
				    slot_value(r, c, slot))
					sfail(&fc->c, "region %d chunk %d: slot %d not visible through the %s window at once",
					      r, c, slot, win_desc[k]);
			atomic_fetch_add(&fc->faults, 1);
			if (sbar_wait(&fc->bar, &fc->c))	/* B3: all written */
				return NULL;
			for (int k = 0; k < NWIN; k++)
				verify_chunk(r, c, wins[k], win_desc[k]);
			atomic_fetch_add(&fc->verifies, 1);
		}
		if (sbar_wait(&fc->bar, &fc->c))	/* B4: all verified */
			return NULL;
		if (t == 0) {
			for (int k = 0; k < NWIN; k++)
				if (munmap(wins[k], (size_t)fp->chunks * GRANULE))
					sfail(&fc->c, "munmap %s: %s", win_desc[k], strerror(errno));
			close(win_fd);
		}
		if (sbar_wait(&fc->bar, &fc->c))	/* B5: detached */
			return NULL;
	}
	return NULL;
}

static int fault_child(int p)
{
	pthread_t th[FMAXT];

	me = p;
	for (int t = 1; t < fp->threads; t++)
		if (pthread_create(&th[t], NULL, fthread, (void *)(intptr_t)t)) {
			sfail(&fc->c, "pthread_create");
			_exit(1);
		}
	fthread((void *)0);
	for (int t = 1; t < fp->threads; t++)
		pthread_join(th[t], NULL);
	return atomic_load(&fc->c.abort) ? 1 : 0;
}

/*
 * 1 GiB spans (PMD pages) that chunk c of the windows enters for the first
 * time in their process: each may cost a new PMD page (or none, if another
 * mapping of the process already had one there).
 */
static long new_pmd_spans(int c)
{
	long n = 0;

	for (int p = 0; p < fp->procs; p++) {
		uintptr_t cur[NWIN];

		for (int k = 0; k < NWIN; k++)
			cur[k] = (fc->win[p][k] + (uintptr_t)c * GRANULE) >> 30;
		for (int k = 0; k < NWIN; k++) {
			bool seen = false;

			for (int k2 = 0; k2 < k && !seen; k2++)
				seen = cur[k2] == cur[k];
			for (int k2 = 0; k2 < NWIN && !seen; k2++)
				for (int c2 = 0; c2 < c && !seen; c2++)
					if (((fc->win[p][k2] + (uintptr_t)c2 * GRANULE) >> 30) == cur[k])
						seen = true;
			n += !seen;
		}
	}
	return n;
}

int stress_fault(const struct fault_params *params, struct fault_result *res)
{
	int parties = params->procs * params->threads + 1;
	long start = now_ms(), base_used;
	pid_t pids[FMAXP];
	int nkids = 0;
	char name[64];

	CHECK(params->procs <= FMAXP && params->threads <= FMAXT &&
	      params->procs * params->threads < 500);
	fp = params;
	memset(res, 0, sizeof(*res));
	res->ops_planned = (long)params->regions * params->chunks;
	fc = shared_alloc(sizeof(*fc));
	fc->c.deadline = start + params->budget_ms;
	sbar_init(&fc->bar, (unsigned int)parties);
	base_used = used_pages(MNT);

	for (int p = 0; p < params->procs; p++) {
		pid_t pid = fork();

		if (pid < 0) {
			sfail(&fc->c, "fork: %s", strerror(errno));
			break;
		}
		if (pid == 0) {
			child_setup();
			_exit(fault_child(p));
		}
		pids[nkids++] = pid;
	}

	for (int r = 0; r < params->regions && !stopping(&fc->c); r++) {
		struct stat st;
		int fd;

		region_name(name, sizeof(name), r);
		fd = open(mpath(name), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)params->chunks * (off_t)GRANULE)) {
			sfail(&fc->c, "create %s: %s", name, strerror(errno));
			break;
		}
		if (sbar_wait(&fc->bar, &fc->c) || sbar_wait(&fc->bar, &fc->c))	/* B0, B1 */
			goto out_region;
		for (int c = 0; c < params->chunks; c++) {
			long pt0 = pagetables_kb(), pt1, expect, used, spans;

			if (sbar_wait(&fc->bar, &fc->c) ||		/* B2 */
			    sbar_wait(&fc->bar, &fc->c))		/* B3 */
				goto out_region;
			pt1 = pagetables_kb();
			used = used_pages(MNT);
			if (fstat(fd, &st))
				sfail(&fc->c, "fstat %s: %s", name, strerror(errno));
			else if (st.st_blocks != 4096L * (c + 1))
				sfail(&fc->c, "region %d chunk %d: st_blocks %lld, want %ld",
				      r, c, (long long)st.st_blocks, 4096L * (c + 1));
			if (used != base_used + 512L * (c + 1))
				sfail(&fc->c, "region %d chunk %d: mount uses %ld pages, want %ld",
				      r, c, used, base_used + 512L * (c + 1));
			res->ops++;
			if (c == 0)
				continue;
			expect = NWIN * 4;
			spans = new_pmd_spans(c);
			res->pt_delta_kb += pt1 - pt0;
			res->pt_expect_kb += expect;
			/*
			 * A table too many (two faults building one chunk's
			 * table) shows as growth above the expectation: exact
			 * per chunk.  Growth below it can also be another
			 * process freeing page tables meanwhile (a PMD page
			 * of an unmapped window): checked over all chunks.
			 */
			if (pt1 - pt0 > expect + 4 * spans)
				sfail(&fc->c, "region %d chunk %d: PageTables grew by %ld kB while %d processes x %d threads faulted it, want %ld kB (one table per set)%s",
				      r, c, pt1 - pt0, params->procs, params->threads, expect,
				      spans ? " + up to 4 kB per new PMD page" : "");
			if (params->verbose && c == 1)
				fprintf(stderr, "  region %d: chunk 1 PageTables %+ld kB (want %ld), used pages %ld\n",
				        r, pt1 - pt0, expect, used - base_used);
		}
		if (sbar_wait(&fc->bar, &fc->c) || sbar_wait(&fc->bar, &fc->c))	/* B4, B5 */
			goto out_region;
		close(fd);
		fd = -1;
		if (unlink(mpath(name)))
			sfail(&fc->c, "unlink %s: %s", name, strerror(errno));
		if (wait_used_pages(MNT, base_used) != base_used)
			sfail(&fc->c, "region %d: mount still uses %ld pages after the last detach and unlink, want %ld",
			      r, used_pages(MNT), base_used);
		/*
		 * The region's tables went back to the core: on 7.x they
		 * leave PageTables only after a grace period, which must not
		 * fall into the next region's chunks.
		 */
		(void)pagetables_settled_kb();
		continue;
out_region:
		if (fd >= 0)
			close(fd);
		break;
	}

	/* children: all done, or told to stop */
	for (int i = 0; i < nkids; i++) {
		int st;
		pid_t w = wait_any_until(pids[i], &st, now_ms() + wait_ms(15000));

		if (w == 0) {
			sfail(&fc->c, "child %d did not stop; killing it", (int)pids[i]);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &st, 0);
		} else if (w == pids[i] && decode_status(st) != 0 && !atomic_load(&fc->c.abort)) {
			sfail(&fc->c, "child %d: exit status %d", (int)pids[i], decode_status(st));
		}
	}
	for (int r = 0; r < params->regions; r++) {
		region_name(name, sizeof(name), r);
		unlink(mpath(name));	/* leftovers after a failure */
	}
	if (past_deadline(&fc->c))
		sfail(&fc->c, "deadline of %ld ms passed after %ld of %ld chunk rounds",
		      params->budget_ms, res->ops, res->ops_planned);
	res->faults = atomic_load(&fc->faults);
	res->failures = atomic_load(&fc->c.failures);
	res->ms = now_ms() - start;
	shared_free(fc, sizeof(*fc));
	return res->failures ? 1 : 0;
}
