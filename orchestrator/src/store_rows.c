/* SPDX-License-Identifier: Apache-2.0 */
/* The store's structs to and from table rows, in the column order of store_rows.h, for every
 * backend. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/timeutil.h"

#include "store_rows.h"

static void copy(const struct orch_row *r, int col, char *dst, size_t size)
{
	snprintf(dst, size, "%s", r->text(r->ctx, col));
}

static uint32_t u32(const struct orch_row *r, int col)
{
	return (uint32_t)r->i64(r->ctx, col);
}

void orch_row_device(const struct orch_row *r, struct orch_device *d)
{
	memset(d, 0, sizeof(*d));
	copy(r, 0, d->id, sizeof(d->id));
	copy(r, 1, d->model, sizeof(d->model));
	copy(r, 2, d->hw, sizeof(d->hw));
	copy(r, 3, d->version, sizeof(d->version));
	d->last_seen = r->i64(r->ctx, 4);
	d->online = r->i64(r->ctx, 5) != 0;
	copy(r, 6, d->groups, sizeof(d->groups));
	copy(r, 7, d->reported, sizeof(d->reported));
	copy(r, 8, d->assigned, sizeof(d->assigned));
	d->assignment_seq = (uint64_t)r->i64(r->ctx, 9);
	d->assignment_published = r->i64(r->ctx, 10);
	d->assignment_expires = r->i64(r->ctx, 11);
}

void orch_row_campaign(const struct orch_row *r, struct orch_campaign *c)
{
	char daily[FOTA_DAILY_WINDOW_STR_LEN + 1], tz[FOTA_MAX_TZ_NAME_LEN + 1];

	memset(c, 0, sizeof(*c));
	copy(r, 0, c->id, sizeof(c->id));
	copy(r, 1, c->image_id, sizeof(c->image_id));
	copy(r, 2, c->group, sizeof(c->group));
	copy(r, 3, c->salt, sizeof(c->salt));
	orch_cstate_parse(r->text(r->ctx, 4), &c->state);
	copy(r, 5, c->reason, sizeof(c->reason));
	c->stage = u32(r, 6);
	c->fail_count = u32(r, 7);
	c->fail_pct = u32(r, 8);
	c->admit_per_min = u32(r, 9);
	c->not_before = r->i64(r->ctx, 10);
	c->not_after = r->i64(r->ctx, 11);
	c->cur_percent = u32(r, 12);
	c->directive_seq = (uint64_t)r->i64(r->ctx, 13);
	c->want_rev = (uint64_t)r->i64(r->ctx, 14);
	c->pub_rev = (uint64_t)r->i64(r->ctx, 15);
	c->created = r->i64(r->ctx, 16);
	c->started = r->i64(r->ctx, 17);
	c->stage_started = r->i64(r->ctx, 18);
	c->stage_met = r->i64(r->ctx, 19);
	c->resumed = r->i64(r->ctx, 20);
	c->finished = r->i64(r->ctx, 21);
	c->resumed_seq = r->i64(r->ctx, 22);
	c->device_timeout_s = u32(r, 23);
	c->timeout_skips = r->i64(r->ctx, 24) != 0;
	copy(r, 25, c->model, sizeof(c->model));
	copy(r, 26, c->hw_revisions, sizeof(c->hw_revisions));
	copy(r, 27, daily, sizeof(daily));
	copy(r, 28, tz, sizeof(tz));
	/* Written by this code from a parsed window; a row edited by hand into something
	 * unparsable has no daily window rather than a wrong one. */
	if (daily[0] && fota_daily_window_parse(daily, tz, &c->daily, NULL) != FOTA_OK)
		memset(&c->daily, 0, sizeof(c->daily));
}

fota_err orch_row_stage(const struct orch_row *r, struct orch_cstage *g, struct fota_error *err)
{
	memset(g, 0, sizeof(*g));
	g->devices = strdup(r->text(r->ctx, 0));
	if (!g->devices)
		return fota_error_set(err, FOTA_ERR_NOMEM, "store: out of memory");
	g->percent = u32(r, 1);
	g->success_pct = u32(r, 2);
	g->wait_s = u32(r, 3);
	return FOTA_OK;
}

void orch_row_cdev(const struct orch_row *r, struct orch_cdev *d)
{
	memset(d, 0, sizeof(*d));
	copy(r, 0, d->device, sizeof(d->device));
	d->stage = u32(r, 1);
	d->admitted = r->i64(r->ctx, 2);
	d->reported = r->i64(r->ctx, 3) != 0;
	if (fota_state_parse(r->text(r->ctx, 4), &d->state, NULL))
		d->state = FOTA_STATE_IDLE;
	if (fota_result_parse(r->text(r->ctx, 5), &d->result, NULL))
		d->result = FOTA_RESULT_NONE;
	copy(r, 6, d->reason, sizeof(d->reason));
	d->chunks_present = u32(r, 7);
	d->chunk_count = u32(r, 8);
	d->updated = r->i64(r->ctx, 9);
	d->seq = r->i64(r->ctx, 10);
	d->device_ts = r->i64(r->ctx, 11);
	if (!orch_cmark_parse(r->text(r->ctx, 12), &d->mark))
		d->mark = ORCH_CMARK_NONE;
}

void orch_row_event(const struct orch_row *r, struct orch_event *e)
{
	memset(e, 0, sizeof(*e));
	e->seq = r->i64(r->ctx, 0);
	e->ts = r->i64(r->ctx, 1);
	copy(r, 2, e->campaign, sizeof(e->campaign));
	copy(r, 3, e->device, sizeof(e->device));
	copy(r, 4, e->kind, sizeof(e->kind));
	copy(r, 5, e->result, sizeof(e->result));
	copy(r, 6, e->detail, sizeof(e->detail));
}

void orch_row_bcast(const struct orch_row *r, struct orch_bcast_rec *b)
{
	memset(b, 0, sizeof(*b));
	copy(r, 0, b->group, sizeof(b->group));
	copy(r, 1, b->image_id, sizeof(b->image_id));
	copy(r, 2, b->campaign, sizeof(b->campaign));
	copy(r, 3, b->state, sizeof(b->state));
	b->devices = u32(r, 4);
	b->chunk_count = u32(r, 5);
	b->next_chunk = u32(r, 6);
	b->updated = r->i64(r->ctx, 7);
}

void orch_row_group_pub(const struct orch_row *r, struct orch_group_pub *g)
{
	memset(g, 0, sizeof(*g));
	copy(r, 0, g->group, sizeof(g->group));
	copy(r, 1, g->campaign, sizeof(g->campaign));
	copy(r, 2, g->image_id, sizeof(g->image_id));
	g->directive_seq = (uint64_t)r->i64(r->ctx, 3);
	g->published = r->i64(r->ctx, 4);
}

void orch_row_audit(const struct orch_row *r, struct orch_audit *a)
{
	memset(a, 0, sizeof(*a));
	a->seq = r->i64(r->ctx, 0);
	a->ts = r->i64(r->ctx, 1);
	copy(r, 2, a->device, sizeof(a->device));
	copy(r, 3, a->state, sizeof(a->state));
	copy(r, 4, a->result, sizeof(a->result));
	copy(r, 5, a->reason, sizeof(a->reason));
	copy(r, 6, a->campaign, sizeof(a->campaign));
	copy(r, 7, a->image_id, sizeof(a->image_id));
	copy(r, 8, a->version, sizeof(a->version));
	a->device_ts = r->i64(r->ctx, 9);
}

/* The loops over a result, one per struct (a callback of each type cannot share one). */
#define ROWS_EACH(kind, type, fn_type)                                                             \
	int orch_rows_##kind(struct orch_cursor *c, fn_type fn, void *ctx)                         \
	{                                                                                          \
		type item;                                                                         \
		int rc;                                                                            \
                                                                                                   \
		while ((rc = c->next(c->row.ctx)) > 0) {                                           \
			orch_row_##kind(&c->row, &item);                                           \
			if (fn(ctx, &item))                                                        \
				return 0;                                                          \
		}                                                                                  \
		return rc;                                                                         \
	}

#define ROWS_FIRST(kind, type)                                                                     \
	int orch_rows_first_##kind(struct orch_cursor *c, type *out)                               \
	{                                                                                          \
		int rc = c->next(c->row.ctx);                                                      \
                                                                                                   \
		if (rc > 0)                                                                        \
			orch_row_##kind(&c->row, out);                                             \
		return rc;                                                                         \
	}

ROWS_FIRST(device, struct orch_device)
ROWS_FIRST(cdev, struct orch_cdev)
ROWS_FIRST(group_pub, struct orch_group_pub)
ROWS_EACH(device, struct orch_device, orch_device_fn)
ROWS_EACH(cdev, struct orch_cdev, orch_cdev_fn)
ROWS_EACH(event, struct orch_event, orch_event_fn)
ROWS_EACH(bcast, struct orch_bcast_rec, orch_bcast_fn)
ROWS_EACH(audit, struct orch_audit, orch_audit_fn)

const char *orch_group_list_next(const char *p, char g[FOTA_MAX_SEGMENT_LEN + 1])
{
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *next = p[n] == ',' ? p + n + 1 : p + n;

		if (n > 0 && n <= FOTA_MAX_SEGMENT_LEN) {
			memcpy(g, p, n);
			g[n] = '\0';
			return next;
		}
		p = next;
	}
	return NULL;
}

bool orch_list_has(const char *list, const char *name, size_t len)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && memcmp(p, name, len) == 0)
			return true;
		p += n;
		if (*p)
			p++;
	}
	return false;
}

/* --- parameters ------------------------------------------------------------------------------ */

static void text(struct orch_params *p, int idx, const char *v)
{
	p->text(p->ctx, idx, v ? v : "");
}

static void i64(struct orch_params *p, int idx, int64_t v)
{
	p->i64(p->ctx, idx, v);
}

void orch_params_device(struct orch_params *p, const struct orch_device *d)
{
	text(p, 0, d->id);
	text(p, 1, d->model);
	text(p, 2, d->hw);
	text(p, 3, d->version);
	i64(p, 4, d->last_seen);
	i64(p, 5, d->online ? 1 : 0);
	text(p, 6, d->reported);
}

void orch_params_assignment(struct orch_params *p, const char *id, const char *groups, uint64_t seq,
			    int64_t published, int64_t expires)
{
	text(p, 0, id);
	text(p, 1, groups);
	i64(p, 2, (int64_t)seq);
	i64(p, 3, published);
	i64(p, 4, expires);
}

void orch_params_campaign(struct orch_params *p, const struct orch_campaign *c)
{
	p->formatted[0] = '\0';
	if (c->daily.set)
		fota_daily_window_format(&c->daily, p->formatted);
	text(p, 0, c->id);
	text(p, 1, c->image_id);
	text(p, 2, c->group);
	text(p, 3, c->salt);
	text(p, 4, orch_cstate_name(c->state));
	text(p, 5, c->reason);
	i64(p, 6, c->stage);
	i64(p, 7, c->fail_count);
	i64(p, 8, c->fail_pct);
	i64(p, 9, c->admit_per_min);
	i64(p, 10, c->not_before);
	i64(p, 11, c->not_after);
	i64(p, 12, c->cur_percent);
	i64(p, 13, (int64_t)c->directive_seq);
	i64(p, 14, (int64_t)c->want_rev);
	i64(p, 15, (int64_t)c->pub_rev);
	i64(p, 16, c->created);
	i64(p, 17, c->started);
	i64(p, 18, c->stage_started);
	i64(p, 19, c->stage_met);
	i64(p, 20, c->resumed);
	i64(p, 21, c->finished);
	i64(p, 22, c->resumed_seq);
	i64(p, 23, c->device_timeout_s);
	i64(p, 24, c->timeout_skips ? 1 : 0);
	text(p, 25, c->model);
	text(p, 26, c->hw_revisions);
	text(p, 27, p->formatted);
	text(p, 28, c->daily.set ? c->daily.tz : "");
}

void orch_params_stage(struct orch_params *p, const char *campaign, uint32_t idx,
		       const struct orch_cstage *g)
{
	text(p, 0, campaign);
	i64(p, 1, idx);
	text(p, 2, g->devices);
	i64(p, 3, g->percent);
	i64(p, 4, g->success_pct);
	i64(p, 5, g->wait_s);
}

void orch_params_cdev(struct orch_params *p, const char *campaign, const struct orch_cdev *d)
{
	text(p, 0, campaign);
	text(p, 1, d->device);
	i64(p, 2, d->stage);
	i64(p, 3, d->admitted);
	i64(p, 4, d->reported ? 1 : 0);
	text(p, 5, fota_state_name(d->state));
	text(p, 6, fota_result_name(d->result));
	text(p, 7, d->reason);
	i64(p, 8, d->chunks_present);
	i64(p, 9, d->chunk_count);
	i64(p, 10, d->updated);
	i64(p, 11, d->seq);
	i64(p, 12, d->device_ts);
	text(p, 13, orch_cmark_name(d->mark));
}

void orch_params_event(struct orch_params *p, const struct orch_event *e, int64_t ts)
{
	i64(p, 0, ts);
	text(p, 1, e->campaign);
	text(p, 2, e->device);
	text(p, 3, e->kind);
	text(p, 4, e->result);
	text(p, 5, e->detail);
}

void orch_params_bcast(struct orch_params *p, const struct orch_bcast_rec *b)
{
	text(p, 0, b->group);
	text(p, 1, b->image_id);
	text(p, 2, b->campaign);
	text(p, 3, b->state);
	i64(p, 4, b->devices);
	i64(p, 5, b->chunk_count);
	i64(p, 6, b->next_chunk);
	i64(p, 7, b->updated ? b->updated : fota_time_now());
}

void orch_params_group_pub(struct orch_params *p, const struct orch_group_pub *g)
{
	text(p, 0, g->group);
	text(p, 1, g->campaign);
	text(p, 2, g->image_id);
	i64(p, 3, (int64_t)g->directive_seq);
	i64(p, 4, g->published);
}

void orch_params_audit(struct orch_params *p, const struct orch_audit *a, int64_t ts)
{
	i64(p, 0, ts);
	text(p, 1, a->device);
	text(p, 2, a->state);
	text(p, 3, a->result);
	text(p, 4, a->reason);
	text(p, 5, a->campaign);
	text(p, 6, a->image_id);
	text(p, 7, a->version);
	i64(p, 8, a->device_ts);
}
