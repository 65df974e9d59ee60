/* SPDX-License-Identifier: Apache-2.0 */
/* bsdiff's algorithm over a libdivsufsort suffix array, its records written by delta_writer. */
#include <stdlib.h>
#include <string.h>

#include <divsufsort.h>

#include "delta_make.h"
#include "delta_writer.h"

static size_t match_len(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i = 0;

	while (i < alen && i < blen && a[i] == b[i])
		i++;
	return i;
}

/* The longest match of new_ in old among the suffixes sa[st..en] (sorted). */
static size_t search(const saidx_t *sa, const uint8_t *old, size_t old_len, const uint8_t *new_,
		     size_t new_len, size_t st, size_t en, size_t *pos)
{
	while (en - st >= 2) {
		size_t x = st + (en - st) / 2, o = (size_t)sa[x];
		size_t n = old_len - o < new_len ? old_len - o : new_len;

		if (memcmp(old + o, new_, n) < 0)
			st = x;
		else
			en = x;
	}
	{
		size_t a = match_len(old + sa[st], old_len - (size_t)sa[st], new_, new_len);
		size_t b = match_len(old + sa[en], old_len - (size_t)sa[en], new_, new_len);

		*pos = (size_t)(a > b ? sa[st] : sa[en]);
		return a > b ? a : b;
	}
}

static fota_err record(struct orch_delta_writer *w, const uint8_t *old, size_t old_pos,
		       const uint8_t *new_, size_t new_pos, size_t diff, size_t extra, int64_t seek,
		       struct fota_error *err)
{
	uint8_t buf[4096];
	fota_err rc = orch_delta_writer_record(w, diff, extra, seek, err);

	for (size_t i = 0; rc == FOTA_OK && i < diff;) {
		size_t n = diff - i < sizeof(buf) ? diff - i : sizeof(buf);

		for (size_t k = 0; k < n; k++)
			buf[k] = (uint8_t)(new_[new_pos + i + k] - old[old_pos + i + k]);
		rc = orch_delta_writer_diff(w, buf, n, err);
		i += n;
	}
	if (rc == FOTA_OK)
		rc = orch_delta_writer_extra(w, new_ + new_pos + diff, extra, err);
	return rc;
}

fota_err orch_delta_make(const uint8_t *old, size_t old_len, const uint8_t *new_, size_t new_len,
			 int level, FILE *out, struct fota_error *err)
{
	size_t scan = 0, len = 0, pos = 0, last_scan = 0, last_pos = 0;
	int64_t last_offset = 0;
	struct orch_delta_writer *w = NULL;
	saidx_t *sa;
	fota_err rc = FOTA_OK;

	if (old_len == 0 || old_len > ORCH_DELTA_MAX_BASE)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "delta: base of %zu bytes: 1..%llu",
				      old_len, (unsigned long long)ORCH_DELTA_MAX_BASE);
	sa = malloc(old_len * sizeof(*sa));
	if (sa == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "delta: out of memory");
	if (divsufsort(old, sa, (saidx_t)old_len) != 0) {
		free(sa);
		return fota_error_set(err, FOTA_ERR_NOMEM, "delta: suffix sort failed");
	}
	rc = orch_delta_writer_new(out, new_len, level, &w, err);
	while (scan < new_len && rc == FOTA_OK) {
		size_t old_score = 0, scsc;

		for (scsc = scan += len; scan < new_len; scan++) {
			len = search(sa, old, old_len, new_ + scan, new_len - scan, 0, old_len - 1,
				     &pos);
			for (; scsc < scan + len; scsc++)
				if ((int64_t)scsc + last_offset < (int64_t)old_len &&
				    old[(int64_t)scsc + last_offset] == new_[scsc])
					old_score++;
			if ((len == old_score && len != 0) || len > old_score + 8)
				break;
			if ((int64_t)scan + last_offset < (int64_t)old_len &&
			    old[(int64_t)scan + last_offset] == new_[scan])
				old_score--;
		}
		if (len != old_score || scan == new_len) {
			int64_t s = 0, sf = 0, sb = 0;
			size_t lenf = 0, lenb = 0, i;

			for (i = 0; last_scan + i < scan && last_pos + i < old_len;) {
				if (old[last_pos + i] == new_[last_scan + i])
					s++;
				i++;
				if (s * 2 - (int64_t)i > sf * 2 - (int64_t)lenf) {
					sf = s;
					lenf = i;
				}
			}
			if (scan < new_len) {
				s = 0;
				for (i = 1; scan >= last_scan + i && pos >= i; i++) {
					if (old[pos - i] == new_[scan - i])
						s++;
					if (s * 2 - (int64_t)i > sb * 2 - (int64_t)lenb) {
						sb = s;
						lenb = i;
					}
				}
			}
			if (last_scan + lenf > scan - lenb) {
				size_t overlap = (last_scan + lenf) - (scan - lenb), lens = 0;
				int64_t ss = 0;

				s = 0;
				for (i = 0; i < overlap; i++) {
					if (new_[last_scan + lenf - overlap + i] ==
					    old[last_pos + lenf - overlap + i])
						s++;
					if (new_[scan - lenb + i] == old[pos - lenb + i])
						s--;
					if (s > ss) {
						ss = s;
						lens = i + 1;
					}
				}
				lenf += lens - overlap;
				lenb -= lens;
			}
			rc = record(w, old, last_pos, new_, last_scan, lenf,
				    (scan - lenb) - (last_scan + lenf),
				    (int64_t)(pos - lenb) - (int64_t)(last_pos + lenf), err);
			last_scan = scan - lenb;
			last_pos = pos - lenb;
			last_offset = (int64_t)pos - (int64_t)scan;
		}
	}
	if (rc == FOTA_OK)
		rc = orch_delta_writer_finish(w, err);
	orch_delta_writer_free(w);
	free(sa);
	return rc;
}
