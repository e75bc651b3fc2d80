// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The parsing and formatting of the mshare tool (src/tool/cli.c): human
 * sizes, SIZE and MODE arguments, JSON strings, terminal-safe names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

#define K	1024ULL
#define M	(K * K)
#define G	(M * K)
#define T	(G * K)

static void check_human(uint64_t bytes, const char *want)
{
	char buf[CLI_HUMAN_MAX];

	print_message("%llu -> %s\n", (unsigned long long)bytes, want);
	assert_string_equal(cli_human(bytes, buf, sizeof(buf)), want);
}

static void test_human(void **state)
{
	(void)state;
	check_human(0, "0");
	check_human(1, "1");
	check_human(512, "512");
	check_human(1023, "1023");
	check_human(1024, "1.0K");
	check_human(1536, "1.5K");
	check_human(4096, "4.0K");
	check_human(10 * K - 1, "10K");		/* 9.999K rounds to 10 */
	check_human(10 * K, "10K");
	check_human(16384, "16K");
	check_human(1023 * K, "1023K");
	check_human(1024 * K - 1, "1.0M");	/* 1023.999K: next unit */
	check_human(2 * M, "2.0M");
	check_human(2 * M + 51 * K, "2.0M");	/* 2.0498M */
	check_human(2 * M + 52 * K, "2.1M");	/* 2.0508M */
	check_human(4 * M, "4.0M");
	check_human(64 * M, "64M");
	check_human(1536 * M, "1.5G");
	check_human(300 * G, "300G");
	check_human(3 * T, "3.0T");
	check_human(1024 * 1024 * T, "1.0E");
	check_human(UINT64_MAX, "16E");
	check_human(UINT64_MAX / 2, "8.0E");
}

static void test_human_signed(void **state)
{
	char buf[CLI_HUMAN_MAX];

	(void)state;
	assert_string_equal(cli_human_signed(0, buf, sizeof(buf)), "0");
	assert_string_equal(cli_human_signed(16384, buf, sizeof(buf)), "16K");
	assert_string_equal(cli_human_signed(-8192, buf, sizeof(buf)), "-8.0K");
	assert_string_equal(cli_human_signed(-1, buf, sizeof(buf)), "-1");
	assert_string_equal(cli_human_signed(INT64_MIN, buf, sizeof(buf)),
			    "-8.0E");
	assert_string_equal(cli_human_signed(INT64_MAX, buf, sizeof(buf)),
			    "8.0E");
	/* Truncated, never overflowed. */
	assert_string_equal(cli_human_signed(-8192, buf, 3), "-8");
	assert_string_equal(cli_human(1536, buf, 2), "1");
}

static void check_size(const char *text, uint64_t want)
{
	uint64_t size = 7;

	print_message("'%s'\n", text);
	assert_int_equal(cli_parse_size(text, &size), 0);
	assert_true(size == want);
}

static void check_size_error(const char *text, int err)
{
	uint64_t size = 7;

	print_message("'%s'\n", text);
	assert_int_equal(cli_parse_size(text, &size), err);
	assert_int_equal(size, 7);
}

static void test_parse_size(void **state)
{
	static const char *const bad[] = {
		"", "M", "-2M", "+2M", " 2M", "2M ", "2 M", "2.5M", "0x200000",
		"2MB", "2Mi", "2MiBs", "2X", "2P", "2E", "2KM", "2k2", "1e6",
	};
	size_t i;

	(void)state;
	check_size("0", 0);
	check_size("2097152", 2 * M);
	check_size("2048K", 2 * M);
	check_size("2048k", 2 * M);
	check_size("4M", 4 * M);
	check_size("4m", 4 * M);
	check_size("4MiB", 4 * M);
	check_size("1G", G);
	check_size("1g", G);
	check_size("3T", 3 * T);
	check_size("08M", 8 * M);	/* decimal, not octal */
	check_size("18446744073709551615", UINT64_MAX);
	check_size("16777215T", 16777215 * T);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_size_error(bad[i], -EINVAL);
	check_size_error("18446744073709551616", -ERANGE);
	check_size_error("99999999999999999999999", -ERANGE);
	check_size_error("16777216T", -ERANGE);
	check_size_error("18014398509481984K", -ERANGE);
}

static void test_parse_mode(void **state)
{
	static const char *const bad[] = {
		"", "8", "0800", "1000", "01777", "4755", "rw", "-600", "0x1a4",
		" 600", "600 ", "0o600",
	};
	mode_t mode;
	size_t i;

	(void)state;
	assert_int_equal(cli_parse_mode("600", &mode), 0);
	assert_int_equal(mode, 0600);
	assert_int_equal(cli_parse_mode("0640", &mode), 0);
	assert_int_equal(mode, 0640);
	assert_int_equal(cli_parse_mode("0", &mode), 0);
	assert_int_equal(mode, 0);
	assert_int_equal(cli_parse_mode("777", &mode), 0);
	assert_int_equal(mode, 0777);
	assert_int_equal(cli_parse_mode("0000644", &mode), 0);
	assert_int_equal(mode, 0644);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mode = 0123;
		print_message("'%s'\n", bad[i]);
		assert_int_equal(cli_parse_mode(bad[i], &mode), -EINVAL);
		assert_int_equal(mode, 0123);
	}
}

static void check_json(const char *s, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cli_json_string(f, s);
	assert_int_equal(fclose(f), 0);
	print_message("%s\n", buf);
	assert_string_equal(buf, want);
	free(buf);
}

static void test_json_string(void **state)
{
	(void)state;
	check_json("", "\"\"");
	check_json("cache", "\"cache\"");
	check_json("db/cache", "\"db/cache\"");
	check_json("say \"hi\"", "\"say \\\"hi\\\"\"");
	check_json("back\\slash", "\"back\\\\slash\"");
	check_json("a\nb\tc\rd\be\ff", "\"a\\nb\\tc\\rd\\be\\ff\"");
	check_json("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	/* Valid UTF-8 is kept. */
	check_json("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	check_json("\xe2\x82\xac", "\"\xe2\x82\xac\"");
	check_json("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
	check_json("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");	/* U+10FFFF */
	/* Anything else: U+FFFD per byte. */
	check_json("\xff", "\"\\ufffd\"");
	check_json("a\x80z", "\"a\\ufffdz\"");
	check_json("\xc3", "\"\\ufffd\"");			/* truncated */
	check_json("\xc3(", "\"\\ufffd(\"");
	check_json("\xc0\xaf", "\"\\ufffd\\ufffd\"");		/* overlong '/' */
	check_json("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
	check_json("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");	/* surrogate */
	check_json("\xf4\x90\x80\x80",
		   "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");	/* > U+10FFFF */
	check_json("\xf5\x80", "\"\\ufffd\\ufffd\"");
}

static void test_printable(void **state)
{
	char s[] = "a\nb\x01\x7f" "caf\xc3\xa9 x";

	(void)state;
	cli_printable(s);
	assert_string_equal(s, "a?b??caf\xc3\xa9 x");
	assert_int_equal(cli_width(""), 0);
	assert_int_equal(cli_width("cache"), 5);
	assert_int_equal(cli_width("caf\xc3\xa9"), 4);
	assert_int_equal(cli_width("\xe2\x82\xac!"), 2);
}

static void check_preload(const char *existing, const char *lib,
			  const char *want)
{
	char out[64];

	assert_int_equal(cli_preload_list(existing, lib, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_preload_list(void **state)
{
	char out[16];

	(void)state;
	check_preload(NULL, "/l/p.so", "/l/p.so");
	check_preload("", "/l/p.so", "/l/p.so");
	check_preload("/x.so", "/l/p.so", "/l/p.so:/x.so");
	check_preload("/x.so /y.so", "/l/p.so", "/l/p.so:/x.so /y.so");
	/* Already there: unchanged (exec chains, nested mshare run). */
	check_preload("/l/p.so", "/l/p.so", "/l/p.so");
	check_preload("/x.so:/l/p.so", "/l/p.so", "/x.so:/l/p.so");
	check_preload("/x.so /l/p.so ", "/l/p.so", "/x.so /l/p.so ");
	check_preload("/l/p.so.1", "/l/p.so", "/l/p.so:/l/p.so.1");
	assert_int_equal(cli_preload_list(NULL, "", out, sizeof(out)), -EINVAL);
	assert_int_equal(cli_preload_list(NULL, "/a b.so", out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(cli_preload_list(NULL, "/a:b.so", out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(cli_preload_list("/a/very/long.so", "/l/p.so", out,
					  sizeof(out)), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preload_list),
		cmocka_unit_test(test_human),
		cmocka_unit_test(test_human_signed),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_mode),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_printable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
