/* SPDX-License-Identifier: Apache-2.0 */
/* Stand-in for libFuzzer's main: replays every file of a corpus directory through the harness
 * and a few derived inputs (each prefix length, each single-byte flip of the first 64 bytes). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	for (size_t len = 0; len <= (size_t)n; len += 1 + (size_t)n / 64) {
		/* Truncations in a fresh allocation, so ASan catches reads past the end. */
		uint8_t *cut = malloc(len ? len : 1);
		memcpy(cut, buf, len);
		LLVMFuzzerTestOneInput(cut, len);
		free(cut);
	}
	for (size_t i = 0; i < (size_t)n && i < 64; i++) {
		buf[i] ^= 0x5a;
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		buf[i] ^= 0x5a;
	}
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	DIR *d;
	struct dirent *e;
	int files = 0;
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	d = opendir(argv[1]);
	if (d == NULL) {
		perror(argv[1]);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		if (run_file(path) != 0) {
			fprintf(stderr, "cannot read %s\n", path);
			closedir(d);
			return 1;
		}
		files++;
	}
	closedir(d);
	if (files == 0) {
		fprintf(stderr, "empty corpus %s\n", argv[1]);
		return 1;
	}
	printf("replayed %d corpus files\n", files);
	return 0;
}
