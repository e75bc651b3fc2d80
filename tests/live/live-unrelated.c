// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-unrelated: processes that share nothing but the region's name
 * (separately exec'd mshare-peer helpers) attach it by name, raw or
 * through the library, and see each other's writes; the data outlives
 * them; a read-only peer verifies it.
 */
#include "common.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#define SZ (4 * MIB)

struct hdr {
	_Atomic uint32_t state;
	uint32_t pad;
	_Atomic uint64_t seed;
};

static char out[8192];

static int peer(char *const argv[])
{
	return run_prog(argv, out, sizeof(out));
}

int main(void)
{
	size_t ps = (size_t)page_size();
	struct hdr *h;
	char *w;
	int fd, st;
	pid_t a, b;

	live_init("live-unrelated");
	CHECKF(sibling("mshare-peer") != NULL, "mshare-peer not found in %s", bindir());

	fd = raw_create("peer", SZ);
	w = raw_attach(fd, SZ, PROT_READ | PROT_WRITE);
	h = (struct hdr *)w;
	fill_pattern(w + ps, SZ - ps, 0);

	/* ---- two exec'd peers talk to each other, 5 rounds each ---- */
	{
		char *av[] = { "mshare-peer", "--raw", "peer", "step", "0", "5", NULL };
		char *bv[] = { "mshare-peer", "peer", "step", "1", "5", NULL };
		int fa, fb;

		a = start_prog(av, &fa);
		b = start_prog(bv, &fb);
		read_all(fa, out, sizeof(out));
		st = wait_status(a);
		CHECKF(st == 0, "peer A (raw) status %d: %s", st, out);
		read_all(fb, out, sizeof(out));
		st = wait_status(b);
		CHECKF(st == 0, "peer B (library) status %d: %s", st, out);
	}
	CHECK(atomic_load(&h->state) == 10 && atomic_load(&h->seed) == 10);
	CHECK(verify_pattern(w + ps, SZ - ps, 10) == -1);

	/* ---- this process and one exec'd peer take turns ---- */
	{
		char *bv[] = { "mshare-peer", "peer", "step", "11", "3", NULL };
		int fb;

		b = start_prog(bv, &fb);
		for (uint32_t s = 10; s < 16; s += 2) {
			long end = now_ms() + wait_ms(20000);

			while (atomic_load(&h->state) != s && now_ms() < end)
				usleep(1000);
			CHECKF(atomic_load(&h->state) == s, "peer did not reach state %u", s);
			CHECK(verify_pattern(w + ps, SZ - ps, s) == -1);
			fill_pattern(w + ps, SZ - ps, s + 1);
			atomic_store(&h->seed, s + 1);
			atomic_fetch_add(&h->state, 1);
		}
		read_all(fb, out, sizeof(out));
		st = wait_status(b);
		CHECKF(st == 0, "turn-taking peer status %d: %s", st, out);
		CHECK(atomic_load(&h->state) == 16);
		CHECK(verify_pattern(w + ps, SZ - ps, 16) == -1);
	}

	/* ---- a peer writes and exits; the data stays ---- */
	{
		char *wv[] = { "mshare-peer", "peer", "write", "77", NULL };
		char *vr[] = { "mshare-peer", "--raw", "--ro", "peer", "verify", "77", NULL };
		char *vl[] = { "mshare-peer", "--ro", "peer", "verify", "77", NULL };
		char *bad[] = { "mshare-peer", "--ro", "peer", "verify", "78", NULL };
		char *none[] = { "mshare-peer", "no-such-region", "verify", "77", NULL };

		CHECK(peer(wv) == 0);
		CHECK(verify_pattern(w + ps, SZ - ps, 77) == -1);
		CHECK(munmap(w, SZ) == 0);
		close(fd);
		/* nobody attached or holding an fd now */
		CHECK(peer(vr) == 0);
		CHECK(peer(vl) == 0);
		CHECKF(peer(bad) == 1, "a wrong pattern must be noticed");
		CHECKF(peer(none) == 4, "a missing region must fail");
	}

	CHECK(unlink(mpath("peer")) == 0);
	live_done();
}
