/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Peak memory of applying a delta payload, through the agent's own decode chain
 * (decode_base_open, decode_chain_for on a delta view, decode_chain_run into a file).
 *
 *   delta_apply_rss DIR SIZE_MIB [incompressible]
 *
 * Writes a SIZE_MIB base image to DIR, a new image that differs from it by 4 KiB in every MiB
 * plus 64 KiB appended, and the delta payload between them (records given to the payload's
 * writer directly: the apply's memory does not depend on how the records were found). Then runs
 * itself in a fresh process to apply it, which prints its RSS before the apply (idle), its
 * peak RSS (VmHWM) after, and the difference. Exit 0 only if the output is the new image.
 * With "incompressible", every diff byte is random and 16 MiB of random bytes are appended:
 * full diff chunks and every stream's window filled, the most a delta makes the apply hold.
 *
 *   delta_apply_rss diff BASE NEW DELTA
 *   delta_apply_rss patch BASE DELTA OUT NEW_SIZE NEW_SHA256
 *
 * The same two steps on real files (bench/delta_sizes.sh): the delta payload `image add
 * --delta-from` stores, and its apply through the agent's decode chain.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decode.h"
#include "delta_writer.h"
#include "image_delta.h"
#include "fota/digest.h"
#include "fota/manifest.h"

#define MIB (1024u * 1024u)
#define CHANGE 4096u
#define TAIL (64u * 1024u)
/* The incompressible case's new tail: longer than any stream's window. */
#define WORST_TAIL (16u * MIB)

static void fill(uint8_t *p, size_t n, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++) {
		*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(*seed >> 56);
	}
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void check(fota_err rc, const struct fota_error *err)
{
	if (rc != FOTA_OK) {
		fprintf(stderr, "delta_apply_rss: %s\n", err->msg);
		exit(2);
	}
}

static void make(const char *dir, uint64_t mib, bool worst, uint8_t sha[FOTA_SHA256_LEN],
		 uint64_t *new_size)
{
	char path[512];
	uint8_t *base = malloc(MIB), *diff = calloc(1, MIB);
	uint64_t seed = 1, seed2 = 2;
	struct fota_sha256_ctx *h = fota_sha256_new();
	struct orch_delta_writer *w = NULL;
	struct fota_error err = {0};
	FILE *bf, *df;

	snprintf(path, sizeof(path), "%s/base.img", dir);
	bf = fopen(path, "we");
	snprintf(path, sizeof(path), "%s/delta.zst", dir);
	df = fopen(path, "we");
	if (!base || !diff || !h || !bf || !df)
		die("setup");
	uint64_t tail = worst ? WORST_TAIL : TAIL;

	*new_size = mib * MIB + tail;
	check(orch_delta_writer_new(df, *new_size, 3, &w, &err), &err);
	for (uint64_t m = 0; m < mib; m++) {
		fill(base, MIB, &seed);
		if (fwrite(base, 1, MIB, bf) != MIB)
			die("write base");
		memset(diff, 0, MIB);
		if (worst)
			fill(diff, MIB, &seed2);
		else
			fill(diff + MIB / 2, CHANGE, &seed2);
		check(orch_delta_writer_record(w, MIB, m + 1 == mib ? tail : 0, 0, &err), &err);
		check(orch_delta_writer_diff(w, diff, MIB, &err), &err);
		for (size_t i = 0; i < MIB; i++)
			base[i] = (uint8_t)(base[i] + diff[i]);
		fota_sha256_update(h, base, MIB);
	}
	for (uint64_t left = tail; left > 0; left -= TAIL) {
		fill(base, TAIL, &seed2);
		check(orch_delta_writer_extra(w, base, TAIL, &err), &err);
		fota_sha256_update(h, base, TAIL);
	}
	check(orch_delta_writer_finish(w, &err), &err);
	orch_delta_writer_free(w);
	fota_sha256_final(h, sha);
	if (fclose(bf) != 0 || fclose(df) != 0)
		die("close");
	fota_sha256_free(h);
	free(base);
	free(diff);
}

static long status_kib(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key), NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* What the agent's install thread does with a staged delta: base bpath (base_size bytes),
 * zstd-compressed delta dpath, output opath that must be new_size bytes of SHA-256 sha_hex. */
static int apply_files(const char *bpath, const char *dpath, const char *opath, uint64_t base_size,
		       uint64_t new_size, const char *sha_hex)
{
	struct fota_manifest m = {0};
	struct decode_base base;
	struct decode_chain c;
	struct fota_error err = {0};
	uint8_t base_sha[FOTA_SHA256_LEN];
	long idle = status_kib("VmRSS:"), peak;
	fota_err rc;

	/* The base digest, as the manifest would carry it (not counted: the orchestrator's). */
	{
		int fd = open(bpath, O_RDONLY | O_CLOEXEC);
		struct fota_sha256_ctx *h = fota_sha256_new();
		uint8_t *b = malloc(MIB);
		ssize_t n;

		if (fd < 0 || !h || !b)
			die(bpath);
		while ((n = read(fd, b, MIB)) > 0)
			fota_sha256_update(h, b, (size_t)n);
		fota_sha256_final(h, base_sha);
		fota_sha256_free(h);
		free(b);
		close(fd);
		idle = status_kib("VmRSS:");
	}
	m.has_delta_base = true;
	m.compression = FOTA_COMPRESSION_ZSTD;
	m.decoded_size = new_size;
	fota_hex_decode(sha_hex, m.decoded_sha256, FOTA_SHA256_LEN, NULL);
	rc = decode_base_open(bpath, base_size, base_sha, &base, &err);
	if (rc == FOTA_OK)
		rc = decode_chain_for(&m, &base, &c, &err);
	if (rc == FOTA_OK) {
		rc = decode_chain_run(&c, dpath, opath, false, NULL, NULL, &err);
		decode_chain_clear(&c);
	}
	decode_base_close(&base);
	peak = status_kib("VmHWM:");
	printf("apply %" PRIu64 " MiB: idle RSS %ld KiB, peak RSS %ld KiB, peak above idle %.1f "
	       "MiB, %s\n",
	       base_size / MIB, idle, peak, (double)(peak - idle) / 1024.0,
	       rc == FOTA_OK ? "output verified" : err.msg);
	return rc == FOTA_OK ? 0 : 1;
}

/* The fresh process of the synthetic measurement. */
static int apply(const char *dir, uint64_t base_size, uint64_t new_size, const char *sha_hex)
{
	char bpath[512], dpath[512], opath[512];

	snprintf(bpath, sizeof(bpath), "%s/base.img", dir);
	snprintf(dpath, sizeof(dpath), "%s/delta.zst", dir);
	snprintf(opath, sizeof(opath), "%s/new.img", dir);
	return apply_files(bpath, dpath, opath, base_size, new_size, sha_hex);
}

static uint64_t file_size(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		die(path);
	return (uint64_t)sb.st_size;
}

/* The delta payload `image add --delta-from` would store for BASE -> NEW. */
static int diff_files(const char *base, const char *new_, const char *out)
{
	struct fota_manifest_delta d = {0};
	struct fota_error err = {0};

	if (orch_delta_payload_file(base, new_, out, &d, &err) != FOTA_OK) {
		fprintf(stderr, "delta_apply_rss diff: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t sha[FOTA_SHA256_LEN];
	char hex[FOTA_SHA256_HEX_LEN + 1], bs[32], ns[32];
	uint64_t mib, new_size = 0;
	pid_t pid;
	int st;

	if (argc == 5 && strcmp(argv[1], "diff") == 0)
		return diff_files(argv[2], argv[3], argv[4]);
	if (argc == 7 && strcmp(argv[1], "patch") == 0)
		return apply_files(argv[2], argv[3], argv[4], file_size(argv[2]),
				   strtoull(argv[5], NULL, 10), argv[6]);
	if (argc == 6 && strcmp(argv[1], "apply") == 0)
		return apply(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
			     argv[5]);
	if ((argc != 3 && (argc != 4 || strcmp(argv[3], "incompressible") != 0)) ||
	    (mib = strtoull(argv[2], NULL, 10)) == 0) {
		fprintf(stderr,
			"usage: delta_apply_rss DIR SIZE_MIB [incompressible]\n"
			"       delta_apply_rss diff BASE NEW DELTA\n"
			"       delta_apply_rss patch BASE DELTA OUT NEW_SIZE NEW_SHA256\n");
		return 2;
	}
	make(argv[1], mib, argc == 4, sha, &new_size);
	fota_hex_encode(sha, FOTA_SHA256_LEN, hex);
	snprintf(bs, sizeof(bs), "%" PRIu64, mib * MIB);
	snprintf(ns, sizeof(ns), "%" PRIu64, new_size);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "apply", argv[1], bs, ns, hex, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		die("fork");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}
