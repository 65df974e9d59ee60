/* SPDX-License-Identifier: Apache-2.0 */
/* Broadcasts in the store: each end as an event and a row, the progress of running ones, and
 * resuming what a previous daemon left unfinished. */
#include <stdio.h>
#include <string.h>

#include "broadcast_store.h"
#include "campaign.h"
#include "log.h"

struct rows {
	struct orch_bcast_rec r[ORCH_BCAST_ROWS_PER_SYNC];
	size_t n;
};

static int collect(void *ctx, const struct orch_bcast_rec *b)
{
	struct rows *rows = ctx;

	rows->r[rows->n++] = *b;
	return rows->n == ORCH_BCAST_ROWS_PER_SYNC;
}

static fota_err put(struct orch_store *st, const char *campaign, const char *group,
		    const char *image_id, const char *state, uint32_t devices, uint32_t chunk_count,
		    uint32_t next_chunk, struct fota_error *err)
{
	struct orch_bcast_rec b;

	memset(&b, 0, sizeof(b));
	/* A shortened name would key another row: refuse instead. */
	if (snprintf(b.campaign, sizeof(b.campaign), "%s", campaign) >= (int)sizeof(b.campaign) ||
	    snprintf(b.group, sizeof(b.group), "%s", group) >= (int)sizeof(b.group) ||
	    snprintf(b.image_id, sizeof(b.image_id), "%s", image_id) >= (int)sizeof(b.image_id) ||
	    snprintf(b.state, sizeof(b.state), "%s", state) >= (int)sizeof(b.state))
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "broadcast record: campaign, group, image id or state too "
				      "long");
	b.devices = devices;
	b.chunk_count = chunk_count;
	b.next_chunk = next_chunk;
	return st->ops->bcast_put(st, &b, err);
}

static fota_err record_end(struct orch_store *st, const struct orch_broadcast_result *r,
			   struct fota_error *err)
{
	const struct orch_broadcast_stats *s = &r->stats;
	char resumed[48] = "";
	fota_err rc;

	if (s->first)
		snprintf(resumed, sizeof(resumed), " (resumed at chunk %u)", s->first);
	/* The count is what the broker acknowledged, not what was handed to it. */
	if (r->end == ORCH_BCAST_DONE)
		rc = orch_campaign_event(
		    st, r->campaign, "", "broadcast", orch_bcast_end_name(r->end), err,
		    "group %.*s: %u/%u chunks%s, %.1f MiB in %.1f s, for %u devices",
		    FOTA_MAX_SEGMENT_LEN, r->group, s->first + s->acked, r->chunk_count, resumed,
		    (double)s->bytes / 1048576.0, (double)s->elapsed_ms / 1000.0, r->devices);
	else if (r->chunk_count == 0) /* the image could not be opened */
		rc = orch_campaign_event(
		    st, r->campaign, "", "broadcast", orch_bcast_end_name(r->end), err,
		    "group %.*s: nothing sent%s, for %u devices: %.*s", FOTA_MAX_SEGMENT_LEN,
		    r->group, resumed, r->devices, 100, r->msg);
	else
		rc = orch_campaign_event(st, r->campaign, "", "broadcast",
					 orch_bcast_end_name(r->end), err,
					 "group %.*s: %u/%u chunks acknowledged%s, for %u devices: "
					 "%.*s",
					 FOTA_MAX_SEGMENT_LEN, r->group, s->first + s->acked,
					 r->chunk_count, resumed, r->devices, 100, r->msg);
	if (rc == FOTA_OK)
		rc = put(st, r->campaign, r->group, r->image_id, orch_bcast_end_name(r->end),
			 r->devices, r->chunk_count, s->first + s->acked, err);
	return rc;
}

void orch_bcast_owner_name(char out[ORCH_BCAST_OWNER_LEN], const char *group, const char *image_id)
{
	snprintf(out, ORCH_BCAST_OWNER_LEN, "broadcast:%.*s/%.*s", FOTA_MAX_SEGMENT_LEN, group,
		 FOTA_IMAGE_ID_HEX_LEN, image_id);
}

bool orch_bcast_local(struct orch_broadcaster *b, const char *group, const char *image_id)
{
	struct orch_broadcast_progress prog[ORCH_BROADCAST_JOBS];
	size_t n = orch_broadcaster_progress(b, prog, ORCH_BROADCAST_JOBS), i;

	for (i = 0; i < n; i++)
		if (strcmp(prog[i].group, group) == 0 && strcmp(prog[i].image_id, image_id) == 0)
			return true;
	return false;
}

/* Gives up the ownership of a broadcast this instance no longer queues or runs. */
static void release_if_idle(struct orch_store *st, struct orch_broadcaster *b, const char *group,
			    const char *image_id)
{
	char owner[ORCH_BCAST_OWNER_LEN];

	if (orch_bcast_local(b, group, image_id))
		return;
	orch_bcast_owner_name(owner, group, image_id);
	st->ops->unlock(st, owner);
}

static fota_err resume_one(struct orch_store *st, struct orch_broadcaster *b,
			   const struct orch_bcast_rec *row, bool *resumed, struct fota_error *err);

/* An active row no local broadcast is behind: left alone while another instance owns it,
 * else taken over. */
static fota_err take_over(struct orch_store *st, struct orch_broadcaster *b,
			  const struct orch_bcast_rec *row, bool *resumed, struct fota_error *err)
{
	char owner[ORCH_BCAST_OWNER_LEN];
	bool mine = false;
	fota_err rc;

	*resumed = false;
	orch_bcast_owner_name(owner, row->group, row->image_id);
	rc = st->ops->lock_try(st, owner, &mine, err);
	if (rc || !mine)
		return rc;
	rc = resume_one(st, b, row, resumed, err);
	if (!*resumed)
		st->ops->unlock(st, owner);
	return rc;
}

static const struct orch_bcast_rec *find_row(const struct rows *rows, const char *group,
					     const char *image_id)
{
	for (size_t i = 0; i < rows->n; i++)
		if (strcmp(rows->r[i].group, group) == 0 &&
		    strcmp(rows->r[i].image_id, image_id) == 0)
			return &rows->r[i];
	return NULL;
}

static fota_err sync_txn(struct orch_store *st, struct orch_broadcaster *b, struct fota_error *err)
{
	struct orch_broadcast_progress prog[ORCH_BROADCAST_JOBS];
	struct orch_broadcast_result r;
	struct rows rows = {.n = 0};
	size_t n, i;
	fota_err rc = FOTA_OK;

	while (rc == FOTA_OK && orch_broadcaster_take_result(b, &r)) {
		rc = record_end(st, &r, err);
		release_if_idle(st, b, r.group, r.image_id);
	}
	if (rc)
		return rc;
	n = orch_broadcaster_progress(b, prog, ORCH_BROADCAST_JOBS);
	rc = st->ops->bcast_each(st, true, collect, &rows, err);
	for (i = 0; rc == FOTA_OK && i < n; i++) {
		const struct orch_broadcast_progress *p = &prog[i];
		const struct orch_bcast_rec *row = find_row(&rows, p->group, p->image_id);

		if (row && row->next_chunk == p->next_chunk && row->chunk_count == p->chunk_count &&
		    row->devices == p->devices && strcmp(row->campaign, p->campaign) == 0)
			continue; /* nothing new: no write */
		rc = put(st, p->campaign, p->group, p->image_id, ORCH_BCAST_ACTIVE, p->devices,
			 p->chunk_count, p->next_chunk, err);
	}
	for (i = 0; rc == FOTA_OK && i < rows.n; i++) {
		const struct orch_bcast_rec *row = &rows.r[i];
		size_t k;

		for (k = 0; k < n; k++)
			if (strcmp(prog[k].group, row->group) == 0 &&
			    strcmp(prog[k].image_id, row->image_id) == 0)
				break;
		if (k == n) {
			bool resumed = false;

			rc = take_over(st, b, row, &resumed, err);
		}
	}
	return rc;
}

void orch_broadcasts_sync(struct orch_store *st, struct orch_broadcaster *b)
{
	struct fota_error err = {0};

	if (!b)
		return;
	if (st->ops->begin(st, &err) == FOTA_OK) {
		if (sync_txn(st, b, &err) == FOTA_OK && st->ops->commit(st, &err) == FOTA_OK)
			return;
		st->ops->rollback(st);
	}
	/* The serve log keeps each broadcast's lines; the rows catch up on the next tick. */
	orch_fail("record broadcasts", &err);
}

/* A row the previous daemon left active: queued again from where the broker's
 * acknowledgements end, if its campaign still runs. */
static fota_err resume_one(struct orch_store *st, struct orch_broadcaster *b,
			   const struct orch_bcast_rec *row, bool *resumed, struct fota_error *err)
{
	struct orch_campaign c;
	const char *end = NULL;
	fota_err rc;

	*resumed = false;
	memset(&c, 0, sizeof(c));
	rc = st->ops->campaign_get(st, row->campaign, &c, err);
	if (rc == FOTA_ERR_NOT_FOUND) {
		fota_error_clear(err);
		end = orch_bcast_end_name(ORCH_BCAST_STOPPED);
	} else if (rc) {
		return rc;
	} else if (c.state != ORCH_CAMPAIGN_RUNNING) {
		end = orch_bcast_end_name(ORCH_BCAST_STOPPED);
	} else if (row->chunk_count && row->next_chunk >= row->chunk_count) {
		end = orch_bcast_end_name(ORCH_BCAST_DONE); /* all acknowledged, end unrecorded */
	}
	orch_campaign_clear(&c);
	if (end)
		return put(st, row->campaign, row->group, row->image_id, end, row->devices,
			   row->chunk_count, row->next_chunk, err);
	if (orch_broadcaster_resume(b, row->campaign, row->group, row->image_id, row->devices,
				    row->next_chunk) == ORCH_BCAST_STARTED) {
		orch_log("broadcast of image %s to group %s (campaign %s) was cut off at chunk %u "
			 "of %u: resuming there",
			 row->image_id, row->group, row->campaign, row->next_chunk,
			 row->chunk_count);
		*resumed = true;
	}
	return FOTA_OK;
}

unsigned orch_broadcasts_resume(struct orch_store *st, struct orch_broadcaster *b)
{
	struct fota_error err = {0};
	struct rows rows = {.n = 0};
	unsigned resumed = 0;
	fota_err rc;
	size_t i;

	if (!b)
		return 0;
	rc = st->ops->begin(st, &err);
	if (rc == FOTA_OK)
		rc = st->ops->bcast_each(st, true, collect, &rows, &err);
	for (i = 0; rc == FOTA_OK && i < rows.n; i++) {
		bool one = false;

		rc = take_over(st, b, &rows.r[i], &one, &err);
		resumed += one;
	}
	if (rc == FOTA_OK)
		rc = st->ops->commit(st, &err);
	if (rc) {
		st->ops->rollback(st);
		orch_fail("resume broadcasts", &err);
	}
	return resumed;
}
