/* SPDX-License-Identifier: Apache-2.0 */
/* Publishing: signed directives, chunk table frames and the paced chunk broadcast. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fota/atomic_file.h"
#include "fota/chunk.h"
#include "fota/timeutil.h"
#include "fota/topics.h"

#include "flow_window.h"
#include "log.h"
#include "stop.h"
#include "publisher.h"

size_t orch_frame_buf_size(const struct orch_image *img)
{
	return FOTA_FRAME_HEADER_LEN + img->manifest.chunk_size +
	       orch_image_chunk_extra(&img->manifest);
}

fota_err orch_publish_table(const struct orch_publisher *pub, const char *topic,
			    const struct orch_image *img, bool retained, struct fota_error *err)
{
	struct fota_frame f = {0};
	uint8_t *buf = NULL;
	size_t len = FOTA_FRAME_HEADER_LEN + img->table_len;
	fota_err rc;

	buf = malloc(len);
	if (!buf)
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for the table frame");
	f.type = FOTA_FRAME_TABLE;
	memcpy(f.image_id, img->id_bin, FOTA_IMAGE_ID_LEN);
	f.index = 0;
	f.count = img->manifest.chunk_count;
	f.payload_len = (uint32_t)img->table_len;
	fota_frame_encode_header(&f, buf);
	memcpy(buf + FOTA_FRAME_HEADER_LEN, img->table, img->table_len);
	if (!orch_pacer_take(pub->pacer, len)) {
		rc = fota_error_set(err, FOTA_ERR_STATE, "interrupted");
		goto out;
	}
	rc = fota_mqtt_publish(pub->mqtt, topic, buf, len, 1, retained, ORCH_PUBLISH_TIMEOUT_MS,
			       err);
out:
	free(buf);
	return rc;
}

static fota_err publish_retained_table(const struct orch_publisher *pub, const char *prefix,
				       const char *group, const struct orch_image *img,
				       struct fota_error *err)
{
	struct fota_topic tt = {.kind = FOTA_TOPIC_GROUP_TABLE};
	char topic[FOTA_MAX_TOPIC_LEN + 1];
	fota_err rc;

	snprintf(tt.group, sizeof(tt.group), "%s", group);
	memcpy(tt.image_id, img->id, sizeof(tt.image_id));
	rc = fota_topic_build(prefix, &tt, topic, sizeof(topic), err);
	return rc ? rc : orch_publish_table(pub, topic, img, true, err);
}

fota_err orch_publish_tables(const struct orch_publisher *pub, const struct orch_config *cfg,
			     const char *group, const struct orch_image *img,
			     struct fota_error *err)
{
	struct orch_image *delta = NULL;
	char id[FOTA_IMAGE_ID_HEX_LEN + 1];
	fota_err rc = publish_retained_table(pub, cfg->prefix, group, img, err);

	if (rc || !img->manifest.has_delta)
		return rc;
	fota_hex_encode(img->manifest.delta.sha256, FOTA_IMAGE_ID_LEN, id);
	if (orch_image_open(cfg, id, &delta, err) != FOTA_OK) {
		/* Imported without it: devices running its base ask for it, get nothing and fall
		 * back to the full payload by themselves. */
		orch_log("image %s: its delta payload %s is not usable (%s); devices running the "
			 "base will fall back to the full payload",
			 img->id, id, err->msg);
		return FOTA_OK;
	}
	rc = publish_retained_table(pub, cfg->prefix, group, delta, err);
	orch_image_free(delta);
	return rc;
}

fota_err orch_publish_chunk(const struct orch_publisher *pub, const char *topic,
			    const struct orch_image *img, uint32_t index, uint8_t *buf,
			    size_t *frame_len, int64_t *sent_us, struct fota_mqtt_tally *tally,
			    struct fota_error *err)
{
	struct fota_frame f = {0};
	size_t len = 0;
	fota_err rc;

	rc = orch_image_read_chunk(img, index, buf + FOTA_FRAME_HEADER_LEN, &len, err);
	if (rc)
		return rc;
	f.type = FOTA_FRAME_DATA;
	memcpy(f.image_id, img->id_bin, FOTA_IMAGE_ID_LEN);
	f.index = index;
	f.count = img->manifest.chunk_count;
	f.payload_len = (uint32_t)len;
	fota_frame_encode_header(&f, buf);
	len += FOTA_FRAME_HEADER_LEN;
	if (!orch_pacer_take(pub->pacer, len))
		return fota_error_set(err, FOTA_ERR_STATE, "interrupted");
	if (sent_us)
		*sent_us = orch_flow_now_us();
	rc = fota_mqtt_publish_tallied(pub->mqtt, topic, buf, len, 1, false,
				       ORCH_PUBLISH_TIMEOUT_MS, tally, err);
	if (rc == FOTA_OK && frame_len)
		*frame_len = len;
	return rc;
}

static void print_progress(bool tty, uint32_t done, uint32_t count, uint64_t bytes,
			   int64_t elapsed_ms, bool last)
{
	double mib_s =
	    elapsed_ms > 0 ? (double)bytes / 1048576.0 / ((double)elapsed_ms / 1000.0) : 0.0;

	fprintf(stderr, "%sbroadcast %" PRIu32 "/%" PRIu32 " chunks (%u%%) %.1f MiB/s%s",
		tty ? "\r" : "", done, count, (unsigned)((uint64_t)done * 100 / count), mib_s,
		tty && !last ? "" : "\n");
	fflush(stderr);
}

/* The acknowledgement clock of one broadcast: when each frame in flight went out, and how
 * many of the tally's answers were already fed to the window. */
struct clock {
	struct orch_flow flow;
	struct fota_mqtt_tally base; /* the tally before this broadcast's first frame */
	int64_t *sent_us;	     /* ring of flow.max send times, by frame number */
	uint64_t sent, settled;
};

/* Feeds the answers that arrived since the last call to the window. Acknowledgements come
 * in publishing order (MQTT 3.1.1, 4.6), so the k-th answer belongs to the k-th frame. */
static void clock_poll(struct fota_mqtt *m, struct clock *c, const struct fota_mqtt_tally *tally)
{
	struct fota_mqtt_tally now;
	uint64_t settled, acked;
	int64_t t = orch_flow_now_us();

	fota_mqtt_tally_get(m, tally, &now);
	acked = now.acked - c->base.acked;
	settled = acked + (now.lost - c->base.lost);
	/* A lost frame (connection gone) is no round-trip sample; only acked ones are. */
	for (; c->settled < settled; c->settled++)
		if (c->settled < acked)
			orch_flow_on_ack(&c->flow, t - c->sent_us[c->settled % c->flow.max]);
}

/* Blocks until the window has room for one more frame. */
static fota_err clock_wait(struct fota_mqtt *m, struct clock *c,
			   const struct fota_mqtt_tally *tally, struct fota_error *err)
{
	clock_poll(m, c, tally);
	while (c->sent - c->settled >= orch_flow_window(&c->flow)) {
		uint64_t want = c->sent - orch_flow_window(&c->flow) + 1;
		fota_err rc = fota_mqtt_tally_wait(m, tally, want + c->base.acked + c->base.lost,
						   ORCH_PUBLISH_TIMEOUT_MS, err);

		if (rc)
			return rc;
		clock_poll(m, c, tally);
	}
	return FOTA_OK;
}

/* How one broadcast runs: from where, what stops it, where acknowledgements are counted. */
struct run {
	uint32_t first;
	bool progress;
	orch_broadcast_stop_fn stop; /* NULL: only orch_stop */
	void *stop_ctx;
	bool end_on_loss; /* a lost broker connection ends it */
	struct fota_mqtt_tally *tally;
};

static fota_err broadcast(const struct orch_publisher *pub, const char *group,
			  const struct orch_image *img, const struct run *run,
			  struct orch_broadcast_stats *stats, struct fota_error *err)
{
	struct fota_topic t = {.kind = FOTA_TOPIC_GROUP_CHUNKS};
	char topic[FOTA_MAX_TOPIC_LEN + 1];
	uint32_t i, count = img->manifest.chunk_count;
	bool tty = isatty(STDERR_FILENO);
	int64_t start, last_print;
	struct fota_mqtt_tally done = {0}, *own = NULL, *tally = run->tally;
	struct clock clk = {0};
	unsigned lost_before = fota_mqtt_connections_lost(pub->mqtt);
	uint8_t *buf = NULL;
	fota_err rc;

	memset(stats, 0, sizeof(*stats));
	stats->first = run->first;
	snprintf(t.group, sizeof(t.group), "%s", group);
	memcpy(t.image_id, img->id, sizeof(t.image_id));
	rc = fota_topic_build(pub->prefix, &t, topic, sizeof(topic), err);
	if (rc)
		return rc;
	if (!tally)
		tally = own = calloc(1, sizeof(*own));
	orch_flow_init(&clk.flow, fota_mqtt_max_inflight(pub->mqtt), orch_frame_buf_size(img));
	buf = malloc(orch_frame_buf_size(img));
	clk.sent_us = calloc(clk.flow.max, sizeof(*clk.sent_us));
	if (!tally || !buf || !clk.sent_us) {
		free(own);
		free(buf);
		free(clk.sent_us);
		return fota_error_set(err, FOTA_ERR_NOMEM, "no memory for a chunk frame");
	}
	fota_mqtt_tally_get(pub->mqtt, tally, &clk.base);
	start = fota_time_mono_ms();
	last_print = start;
	for (i = run->first; i < count; i++) {
		size_t len = 0;
		int64_t now, sent_us;

		if (orch_stop) {
			rc = fota_error_set(err, FOTA_ERR_STATE, "interrupted at chunk %u of %u", i,
					    count);
			goto out;
		}
		if (run->stop && run->stop(run->stop_ctx)) {
			rc = fota_error_set(err, FOTA_ERR_STATE, "stopped at chunk %u of %u", i,
					    count);
			goto out;
		}
		if (run->end_on_loss && fota_mqtt_connections_lost(pub->mqtt) != lost_before) {
			rc = fota_error_set(err, FOTA_ERR_MQTT,
					    "broker connection lost before chunk %u of %u", i,
					    count);
			goto out;
		}
		rc = clock_wait(pub->mqtt, &clk, tally, err);
		if (rc == FOTA_OK)
			rc =
			    orch_publish_chunk(pub, topic, img, i, buf, &len, &sent_us, tally, err);
		if (rc) {
			fota_error_prefix(err, "broadcast stopped");
			goto out;
		}
		clk.sent_us[clk.sent++ % clk.flow.max] = sent_us;
		stats->chunks++;
		stats->bytes += len;
		now = fota_time_mono_ms();
		/* The last chunk's line is printed once, below, with the whole run's rate. */
		if (run->progress && i + 1 < count && now - last_print >= 1000) {
			print_progress(tty, i + 1, count, stats->bytes, now - start, false);
			last_print = now;
		}
	}
out : {
	/* What the broker answered, so stats->acked is exact (and the tally on our stack
	 * is no longer referenced). A lost connection answers for everything in flight at
	 * once. */
	struct fota_error werr = {0};

	if (fota_mqtt_tally_wait(pub->mqtt, tally, clk.base.acked + clk.base.lost + stats->chunks,
				 ORCH_PUBLISH_TIMEOUT_MS, &werr) != FOTA_OK)
		own = NULL; /* still referenced by unanswered publishes: left allocated */
	fota_mqtt_tally_get(pub->mqtt, tally, &done);
	stats->acked = (uint32_t)(done.acked - clk.base.acked);
	stats->window_max = clk.flow.max;
	stats->window_end = orch_flow_window(&clk.flow);
	stats->window_shrinks = clk.flow.shrinks;
	if (rc == FOTA_OK && run->end_on_loss &&
	    (done.lost != clk.base.lost || fota_mqtt_connections_lost(pub->mqtt) != lost_before))
		rc = fota_error_set(err, FOTA_ERR_MQTT,
				    "broker connection lost during the broadcast");
	if (rc == FOTA_OK && stats->acked < stats->chunks && run->tally)
		rc = fota_error_set(err, FOTA_ERR_TIMEOUT, "%s", werr.msg);
}
	stats->elapsed_ms = fota_time_mono_ms() - start;
	if (run->progress && stats->chunks)
		print_progress(tty, run->first + stats->chunks, count, stats->bytes,
			       stats->elapsed_ms, true);
	free(own);
	free(buf);
	free(clk.sent_us);
	return rc;
}

fota_err orch_broadcast(const struct orch_publisher *pub, const char *group,
			const struct orch_image *img, bool progress,
			struct orch_broadcast_stats *stats, struct fota_error *err)
{
	const struct run run = {.progress = progress};

	return broadcast(pub, group, img, &run, stats, err);
}

fota_err orch_broadcast_until(const struct orch_publisher *pub, const char *group,
			      const struct orch_image *img, uint32_t first,
			      orch_broadcast_stop_fn stop, void *stop_ctx,
			      struct fota_mqtt_tally *tally, struct orch_broadcast_stats *stats,
			      struct fota_error *err)
{
	const struct run run = {.first = first,
				.stop = stop,
				.stop_ctx = stop_ctx,
				.end_on_loss = true,
				.tally = tally};

	if (first >= img->manifest.chunk_count)
		return fota_error_set(err, FOTA_ERR_FIELD, "resume at chunk %u of %u", first,
				      img->manifest.chunk_count);
	return broadcast(pub, group, img, &run, stats, err);
}

fota_err orch_directive_next_seq(struct orch_store *st, const char *group, uint64_t *seq,
				 struct fota_error *err)
{
	if (!fota_topic_segment_valid(group))
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "group '%s' must be 1..64 of [A-Za-z0-9._-]", group);
	return st->ops->directive_seq_next(st, group, seq, err);
}

fota_err orch_publish_directive(const struct orch_publisher *pub, struct orch_store *st,
				struct fota_signer *signer, const struct fota_directive *d,
				const char *image_id, struct fota_error *err)
{
	struct fota_topic t = {.kind = FOTA_TOPIC_GROUP_DIRECTIVE};
	char topic[FOTA_MAX_TOPIC_LEN + 1];
	struct orch_group_pub rec;
	struct fota_error rec_err = {0};
	char *json = NULL, *jws = NULL;
	fota_err rc;

	snprintf(t.group, sizeof(t.group), "%s", d->group);
	rc = fota_topic_build(pub->prefix, &t, topic, sizeof(topic), err);
	if (rc)
		return rc;
	rc = fota_directive_to_json(d, &json, err);
	if (rc) {
		fota_error_prefix(err, "build directive");
		goto out;
	}
	rc = fota_envelope_sign(&signer, 1, (const uint8_t *)json, strlen(json), 0, &jws, err);
	if (rc) {
		fota_error_prefix(err, "sign directive");
		goto out;
	}
	if (strlen(jws) > FOTA_MAX_DIRECTIVE_BYTES) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG,
				    "signed directive of %zu bytes exceeds the %d-byte limit "
				    "(too many --admit devices?)",
				    strlen(jws), FOTA_MAX_DIRECTIVE_BYTES);
		goto out;
	}
	rc = fota_mqtt_publish(pub->mqtt, topic, jws, strlen(jws), 1, true, ORCH_PUBLISH_TIMEOUT_MS,
			       err);
	if (rc) {
		fota_error_prefix(err, "publish directive");
		goto out;
	}
	/* Best effort bookkeeping for `status --group`; the broker holds the truth. */
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.group, sizeof(rec.group), "%s", d->group);
	snprintf(rec.campaign, sizeof(rec.campaign), "%s", d->campaign_id);
	snprintf(rec.image_id, sizeof(rec.image_id), "%s", image_id);
	rec.directive_seq = d->directive_seq;
	rec.published = fota_time_now();
	if (st->ops->group_pub_put(st, &rec, &rec_err))
		orch_log("directive %llu for group %s is out; not recorded: %s",
			 (unsigned long long)d->directive_seq, d->group, rec_err.msg);
out:
	free(json);
	free(jws);
	return rc;
}
