/* SPDX-License-Identifier: Apache-2.0 */
/* Backend-independent parts of the store: opening by URI, campaign state names, cleanup, and
 * collecting a campaign's devices. */
#include <stdlib.h>
#include <string.h>

#include "fota/atomic_file.h"

#include "config.h"
#include "store.h"

static const char *const cstate_names[ORCH_CAMPAIGN__COUNT] = {
    "draft", "running", "paused", "aborted", "completed",
};

const char *orch_cstate_name(enum orch_cstate s)
{
	return (unsigned)s < ORCH_CAMPAIGN__COUNT ? cstate_names[s] : "unknown";
}

bool orch_cstate_parse(const char *name, enum orch_cstate *out)
{
	int i;

	for (i = 0; i < ORCH_CAMPAIGN__COUNT; i++) {
		if (strcmp(name, cstate_names[i]) == 0) {
			*out = (enum orch_cstate)i;
			return true;
		}
	}
	return false;
}

static const char *const cmark_names[ORCH_CMARK__COUNT] = {"", "timed_out", "incompatible"};

const char *orch_cmark_name(enum orch_cmark m)
{
	return (unsigned)m < ORCH_CMARK__COUNT ? cmark_names[m] : "unknown";
}

bool orch_cmark_parse(const char *name, enum orch_cmark *out)
{
	int i;

	for (i = 0; i < ORCH_CMARK__COUNT; i++) {
		if (strcmp(name, cmark_names[i]) == 0) {
			*out = (enum orch_cmark)i;
			return true;
		}
	}
	return false;
}

void orch_campaign_clear(struct orch_campaign *c)
{
	uint32_t i;

	for (i = 0; i < ORCH_MAX_STAGES; i++) {
		free(c->stages[i].devices);
		c->stages[i].devices = NULL;
	}
}

typedef fota_err (*backend_open_fn)(const char *target, struct orch_store **out,
				    struct fota_error *err);

/* The backends this build has, by URI scheme. keep_prefix: the backend gets the whole URI
 * (a libpq connection string), otherwise only what follows the prefix (a file path). */
static const struct backend {
	const char *prefix;
	bool keep_prefix;
	backend_open_fn open;
} backends[] = {
    {"sqlite:", false, orch_store_sqlite_open},
    {"postgresql://", true, orch_store_pg_open},
    {"postgres://", true, orch_store_pg_open},
};

fota_err orch_store_open(const char *uri, struct orch_store **out, struct fota_error *err)
{
	size_t i;

	*out = NULL;
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		const struct backend *b = &backends[i];
		size_t n = strlen(b->prefix);

		if (strncmp(uri, b->prefix, n) == 0)
			return b->open(b->keep_prefix ? uri : uri + n, out, err);
	}
	/* An unknown scheme is refused loudly rather than creating a SQLite file named like a
	 * connection string; anything else is a file path. */
	if (strstr(uri, "://"))
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "store '%s': unsupported backend (this build has sqlite: and "
				      "postgresql://)",
				      uri);
	return orch_store_sqlite_open(uri, out, err);
}

void orch_store_close(struct orch_store *s)
{
	if (s)
		s->ops->close(s);
}

fota_err orch_open_store(const struct orch_config *cfg, struct orch_store **out,
			 struct fota_error *err)
{
	char path[PATH_MAX];
	fota_err rc;

	if (cfg->store[0])
		return orch_store_open(cfg->store, out, err);
	rc = fota_mkdirs(cfg->state_dir, 0755, err);
	if (rc == FOTA_OK)
		rc = orch_state_path(cfg, path, sizeof(path), err, ORCH_STORE_FILE);
	if (rc == FOTA_OK)
		rc = orch_store_open(path, out, err);
	return rc;
}

struct cdev_list {
	orch_cdev_pick_fn keep;
	void *ctx;
	struct orch_cdev *d;
	size_t n, cap;
	bool oom;
};

static int collect_one(void *ctx, const struct orch_cdev *d)
{
	struct cdev_list *l = ctx;

	if (!l->keep(l->ctx, d))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct orch_cdev *tmp = realloc(l->d, cap * sizeof(*tmp));

		if (!tmp) {
			l->oom = true;
			return 1;
		}
		l->d = tmp;
		l->cap = cap;
	}
	l->d[l->n++] = *d;
	return 0;
}

fota_err orch_cdev_collect(struct orch_store *s, const char *campaign, orch_cdev_pick_fn keep,
			   void *ctx, struct orch_cdev **out, size_t *n, struct fota_error *err)
{
	struct cdev_list l = {.keep = keep, .ctx = ctx};
	fota_err rc = s->ops->cdev_each(s, campaign, collect_one, &l, err);

	if (rc == FOTA_OK && l.oom)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	if (rc != FOTA_OK) {
		free(l.d);
		l.d = NULL;
		l.n = 0;
	}
	*out = l.d;
	*n = l.n;
	return rc;
}
