// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-examples: the programs in examples/ work as documented: a producer
 * publishes and exits leaving the region, several consumers read it (and
 * reject a wrong expectation or a missing region), a waiting producer is
 * acknowledged by consumers and removes its region, mshare-fork verifies
 * its children's slots.  Output and exit statuses are checked.
 */
#include "common.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char out[8192];

#define RUN(...) ({ char *_av[] = { __VA_ARGS__, NULL }; run_prog(_av, out, sizeof(out)); })

int main(void)
{
	struct stat st;
	int st_a, fd;
	pid_t pid;

	live_init("live-examples");
	CHECKF(sibling("mshare-producer") && sibling("mshare-consumer") && sibling("mshare-fork"),
	       "examples not found in %s", bindir());

	/* ---- producer leaves the region, consumers read it ---- */
	CHECK(RUN("mshare-producer", "ex-msg", "hello from live-examples") == 0);
	CHECK(strstr(out, "published 24 bytes in ex-msg") != NULL);
	CHECK(stat(mpath("ex-msg"), &st) == 0 && st.st_size == (off_t)GRANULE);
	CHECK((st.st_mode & 0777) == 0644);
	for (int i = 0; i < 3; i++) {
		CHECK(RUN("mshare-consumer", "-e", "hello from live-examples", "ex-msg") == 0);
		CHECK(!strcmp(out, "hello from live-examples\n"));
	}
	CHECK(RUN("mshare-consumer", "/ex-msg") == 0);
	CHECK(!strcmp(out, "hello from live-examples\n"));
	CHECKF(RUN("mshare-consumer", "-e", "something else", "ex-msg") == 1,
	       "a wrong expectation must fail");
	CHECK(strstr(out, "expected") != NULL);
	CHECKF(RUN("mshare-consumer", "ex-missing") == 3, "a missing region must fail");
	CHECKF(RUN("mshare-producer", "ex-msg", "again") == 3, "the name is taken");
	CHECK(RUN("mshare-producer") == 2);
	CHECK(RUN("mshare-consumer") == 2);
	/* the region was not changed by any of that */
	CHECK(RUN("mshare-consumer", "-u", "-e", "hello from live-examples", "ex-msg") == 0);
	CHECK(access(mpath("ex-msg"), F_OK) != 0);

	/* ---- a bigger region, and a consumer with nothing to read ---- */
	CHECK(RUN("mshare-producer", "-s", "5000000", "ex-big", "big") == 0);
	CHECK(stat(mpath("ex-big"), &st) == 0 && st.st_size == (off_t)(3 * GRANULE));
	CHECK(RUN("mshare-consumer", "-u", "-e", "big", "ex-big") == 0);
	fd = raw_create("ex-empty", GRANULE);	/* sized, no message */
	close(fd);
	CHECK(RUN("mshare-consumer", "ex-empty") == 1);
	CHECK(unlink(mpath("ex-empty")) == 0);

	/* ---- producer waits for two acknowledgements, then removes ---- */
	{
		char *pv[] = { "mshare-producer", "-w", "2", "-t", "20", "ex-ack", "ack me", NULL };
		int pfd;
		long end = now_ms() + wait_ms(10000);

		pid = start_prog(pv, &pfd);
		while (access(mpath("ex-ack"), F_OK) != 0 && now_ms() < end)
			usleep(10000);
		CHECK(RUN("mshare-consumer", "-t", "10", "-a", "-e", "ack me", "ex-ack") == 0);
		CHECK(RUN("mshare-consumer", "-t", "10", "-a", "-e", "ack me", "ex-ack") == 0);
		read_all(pfd, out, sizeof(out));
		st_a = wait_status(pid);
		CHECKF(st_a == 0, "waiting producer status %d: %s", st_a, out);
		CHECK(strstr(out, "2 consumers acknowledged") != NULL);
		CHECK(access(mpath("ex-ack"), F_OK) != 0);
	}

	/* ---- fork example ---- */
	CHECK(RUN("mshare-fork") == 0);
	CHECK(strstr(out, "4 children, all slots verified") != NULL);
	CHECK(RUN("mshare-fork", "-n", "8", "ex-fork") == 0);
	CHECK(strstr(out, "8 children, all slots verified") != NULL);
	CHECK(strstr(out, "slot 7 written by child") != NULL);
	CHECK(access(mpath("ex-fork"), F_OK) != 0);
	CHECK(RUN("mshare-fork", "-n", "0") == 2);

	live_done();
}
