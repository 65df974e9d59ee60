/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The delta payload format (FOTADLT2), shared by its writer (orchestrator) and its decoder
 * (agent). docs/internals.md, "The delta stream", describes it in full.
 *
 * A header ("FOTADLT2", the new image's size as u64 LE), then segments until the new image is
 * complete. A segment: its new bytes (u64), the byte lengths of its control chunk (u32), diff
 * chunk (u32) and extra chunk (u64), then the three chunks. The chunks continue three zstd
 * streams (control records, diff bytes, extra bytes), each flushed at the segment's end, so a
 * segment's chunks decode to exactly what its new bytes use. The decoder keeps the control and
 * diff chunks of one segment in memory (their limits below) and streams the extra chunk.
 */
#ifndef FOTA_DELTA_FORMAT_H
#define FOTA_DELTA_FORMAT_H

#define FOTA_DELTA_MAGIC "FOTADLT2"
/* The first format (one interleaved stream, compressed as a whole): refused by name. */
#define FOTA_DELTA_MAGIC_V1 "FOTADLT1"
#define FOTA_DELTA_HEADER_LEN 16u
#define FOTA_DELTA_SEGMENT_LEN 24u
/* A control record: diff length, extra length (u64 LE), seek (i64 LE). */
#define FOTA_DELTA_RECORD_LEN 24u

/* Uncompressed control and diff bytes one segment holds at most (the writer cuts there)... */
#define FOTA_DELTA_CTRL_RAW_MAX (64u * 1024u)
#define FOTA_DELTA_DIFF_RAW_MAX (2u * 1024u * 1024u)
/* ...and the compressed chunk lengths the decoder accepts: room for zstd's bound on each. */
#define FOTA_DELTA_CTRL_CHUNK_MAX (FOTA_DELTA_CTRL_RAW_MAX + 16u * 1024u)
#define FOTA_DELTA_DIFF_CHUNK_MAX (FOTA_DELTA_DIFF_RAW_MAX + 64u * 1024u)

/* zstd window (log2 bytes) of each stream: the writer's setting and the decoder's limit. Their
 * sum, with a segment's chunks, bounds the apply's memory: 1 + 4 + 4 MiB. */
#define FOTA_DELTA_CTRL_WINDOW_LOG 20
#define FOTA_DELTA_DIFF_WINDOW_LOG 22
#define FOTA_DELTA_EXTRA_WINDOW_LOG 22

#endif
