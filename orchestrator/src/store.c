/* SPDX-License-Identifier: Apache-2.0 */
/* Backend-independent parts of the store: opening by URI, campaign state names, cleanup. */
#include <stdlib.h>
#include <string.h>

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

fota_err orch_store_open(const char *uri, struct orch_store **out, struct fota_error *err)
{
	*out = NULL;
	if (strncmp(uri, "sqlite:", 7) == 0)
		return orch_store_sqlite_open(uri + 7, out, err);
	/* Other backends are selected by their scheme; refuse them loudly rather than creating
	 * a SQLite file named like a connection string. */
	if (strstr(uri, "://"))
		return fota_error_set(err, FOTA_ERR_INVAL,
				      "store '%s': unsupported backend (this build has sqlite)",
				      uri);
	return orch_store_sqlite_open(uri, out, err);
}

void orch_store_close(struct orch_store *s)
{
	if (s)
		s->ops->close(s);
}
