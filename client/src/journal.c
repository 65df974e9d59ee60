/* SPDX-License-Identifier: Apache-2.0 */
/* Durable agent state (installed image, directive sequence per group) and update history. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fota/atomic_file.h"
#include "fota/timeutil.h"
#include "fota/topics.h"
#include "fota/utf8.h"
#include "journal.h"

#define JOURNAL_MAX_BYTES (16 * 1024)

static void path_in(char *out, size_t size, const char *dir, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static void factory(struct journal *j, const char *factory_version)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->installed_version, sizeof(j->installed_version), "%s", factory_version);
}

static int get_str(const cJSON *o, const char *name, char *dst, size_t size)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
		return -1;
	memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int get_u64(const cJSON *o, const char *name, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0)
		return -1;
	*out = (uint64_t)v->valuedouble;
	return 0;
}

static const char *const phase_names[] = {"none", "arming", "switched", "testing", "rolling_back"};

const char *journal_phase_name(enum journal_phase p)
{
	return (unsigned)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "?";
}

static bool slot_ok(const char *s)
{
	return (s[0] == 'A' || s[0] == 'B') && s[1] == '\0';
}

/* Members added after the first release are optional so an older journal still loads. */
static int get_opt_str(const cJSON *o, const char *name, char *dst, size_t size)
{
	if (cJSON_GetObjectItemCaseSensitive(o, name) == NULL)
		return 0;
	return get_str(o, name, dst, size);
}

static int parse_probation(struct journal_probation *p, const cJSON *o)
{
	char phase[16] = "";
	uint64_t u;
	size_t i;

	if (get_str(o, "phase", phase, sizeof(phase)))
		return -1;
	for (i = 1; i < sizeof(phase_names) / sizeof(phase_names[0]); i++)
		if (strcmp(phase, phase_names[i]) == 0)
			break;
	if (i == sizeof(phase_names) / sizeof(phase_names[0]))
		return -1;
	p->phase = (enum journal_phase)i;
	if (get_str(o, "group", p->group, sizeof(p->group)) ||
	    get_str(o, "campaign", p->campaign, sizeof(p->campaign)) ||
	    get_str(o, "image_id", p->image_id, sizeof(p->image_id)) ||
	    get_str(o, "sha256", p->sha256, sizeof(p->sha256)) ||
	    get_str(o, "version", p->version, sizeof(p->version)) ||
	    get_u64(o, "sequence", &p->sequence) || get_str(o, "slot", p->slot, sizeof(p->slot)) ||
	    get_str(o, "from_slot", p->from_slot, sizeof(p->from_slot)) ||
	    get_str(o, "reason", p->reason, sizeof(p->reason)) || !slot_ok(p->slot) ||
	    !slot_ok(p->from_slot) || strcmp(p->slot, p->from_slot) == 0)
		return -1;
	if (get_u64(o, "confirm_timeout_s", &u) || u > UINT32_MAX)
		return -1;
	p->confirm_timeout_s = (uint32_t)u;
	/* A wall-clock "deadline" written by older agents is ignored: the time starts again. */
	if (get_opt_str(o, "boot_id", p->boot_id, sizeof(p->boot_id)))
		return -1;
	u = 0;
	if (cJSON_GetObjectItemCaseSensitive(o, "since_ms") && get_u64(o, "since_ms", &u))
		return -1;
	p->since_ms = (int64_t)u;
	if (get_u64(o, "boot_attempts", &u) || u > UINT32_MAX)
		return -1;
	p->boot_attempts = (uint32_t)u;
	return 0;
}

static int parse_assignment(struct journal_assignment *as, const cJSON *o)
{
	const cJSON *groups = cJSON_GetObjectItemCaseSensitive(o, "groups"), *g;

	if (get_u64(o, "seq", &as->seq) || as->seq == 0 || !cJSON_IsArray(groups))
		return -1;
	cJSON_ArrayForEach(g, groups)
	{
		if (as->n_groups == CLIENT_MAX_GROUPS || !cJSON_IsString(g) ||
		    !fota_topic_segment_valid(g->valuestring))
			return -1;
		snprintf(as->groups[as->n_groups++], sizeof(as->groups[0]), "%s", g->valuestring);
	}
	return 0;
}

static int parse(struct journal *j, const uint8_t *buf, size_t len)
{
	cJSON *root = cJSON_ParseWithLength((const char *)buf, len);
	const cJSON *groups, *g, *prob;
	int rc = -1;

	if (root == NULL)
		return -1;
	if (get_str(root, "installed_version", j->installed_version,
		    sizeof(j->installed_version)) ||
	    get_u64(root, "installed_sequence", &j->installed_sequence) ||
	    get_str(root, "installed_sha256", j->installed_sha256, sizeof(j->installed_sha256)) ||
	    get_opt_str(root, "installed_campaign", j->installed_campaign,
			sizeof(j->installed_campaign)) ||
	    get_opt_str(root, "slot", j->slot, sizeof(j->slot)) ||
	    (j->slot[0] && !slot_ok(j->slot)))
		goto out;
	/* "unreported" is what older agents wrote: an outcome the broker did not have yet. */
	prob = cJSON_GetObjectItemCaseSensitive(root, "outcome");
	if (prob == NULL)
		prob = cJSON_GetObjectItemCaseSensitive(root, "unreported");
	if (prob && !cJSON_IsNull(prob)) {
		struct journal_outcome *o = &j->outcome;
		const cJSON *reported = cJSON_GetObjectItemCaseSensitive(prob, "reported");

		if (!cJSON_IsObject(prob) || get_str(prob, "state", o->state, sizeof(o->state)) ||
		    get_str(prob, "result", o->result, sizeof(o->result)) ||
		    get_str(prob, "reason", o->reason, sizeof(o->reason)) ||
		    get_str(prob, "campaign", o->campaign, sizeof(o->campaign)) ||
		    get_str(prob, "image_id", o->image_id, sizeof(o->image_id)) ||
		    (reported && !cJSON_IsBool(reported)))
			goto out;
		o->kept = true;
		o->reported = cJSON_IsTrue(reported);
	}
	prob = cJSON_GetObjectItemCaseSensitive(root, "probation");
	if (prob && !cJSON_IsNull(prob) &&
	    (!cJSON_IsObject(prob) || parse_probation(&j->probation, prob) != 0))
		goto out;
	groups = cJSON_GetObjectItemCaseSensitive(root, "groups");
	if (!cJSON_IsArray(groups))
		goto out;
	cJSON_ArrayForEach(g, groups)
	{
		struct journal_group *jg;
		const cJSON *settled = cJSON_GetObjectItemCaseSensitive(g, "settled");

		if (j->n_groups == CLIENT_MAX_GROUPS)
			goto out;
		jg = &j->groups[j->n_groups++];
		if (get_str(g, "name", jg->name, sizeof(jg->name)) ||
		    get_u64(g, "directive_seq", &jg->directive_seq) || !cJSON_IsBool(settled))
			goto out;
		jg->settled = cJSON_IsTrue(settled);
	}
	prob = cJSON_GetObjectItemCaseSensitive(root, "assignment");
	if (prob && (!cJSON_IsObject(prob) || parse_assignment(&j->assignment, prob) != 0))
		goto out;
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

bool journal_parse(struct journal *j, const char *factory_version, const uint8_t *buf, size_t len)
{
	factory(j, factory_version);
	if (len <= JOURNAL_MAX_BYTES && parse(j, buf, len) == 0)
		return true;
	factory(j, factory_version);
	return false;
}

fota_err journal_load(struct journal *j, const char *state_dir, const char *factory_version,
		      struct fota_error *err)
{
	char path[CLIENT_PATH_MAX + 32];
	uint8_t *buf = NULL;
	size_t len = 0;
	fota_err rc;

	factory(j, factory_version);
	path_in(path, sizeof(path), state_dir, "journal.json");
	rc = fota_read_file(path, JOURNAL_MAX_BYTES, &buf, &len, err);
	if (rc == FOTA_ERR_NOT_FOUND) {
		fota_error_clear(err);
		return FOTA_OK;
	}
	if (rc == FOTA_OK && journal_parse(j, factory_version, buf, len)) {
		free(buf);
		return FOTA_OK;
	}
	free(buf);
	/* Like a torn status file in RAUC: keep the evidence, start from what is certain. */
	factory(j, factory_version);
	fota_move_aside(path, NULL);
	fota_error_set(err, FOTA_ERR_PARSE, "journal %s unreadable, moved to .broken", path);
	return FOTA_OK;
}

/* A copy of s with every byte that belongs to no well-formed UTF-8 character replaced by '?':
 * cJSON writes bytes above 0x7f as they are, and a JSON line must be UTF-8 (RFC 8259 8.1).
 * Hook output reaches reasons, so any byte can. NULL on allocation failure. */
static char *utf8_clean(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = fota_utf8_char_len((const uint8_t *)s + i, n - i, NULL);

		if (k == 0) {
			out[i++] = '?';
			continue;
		}
		memcpy(out + i, s + i, k);
		i += k;
	}
	out[n] = '\0';
	return out;
}

static bool add_text(cJSON *o, const char *name, const char *value)
{
	char *clean = utf8_clean(value != NULL ? value : "");
	bool ok = clean != NULL && cJSON_AddStringToObject(o, name, clean) != NULL;

	free(clean);
	return ok;
}

char *journal_text(const struct journal *j)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *groups;
	char *text = NULL;
	bool ok = root != NULL;

	ok = ok && add_text(root, "installed_version", j->installed_version) &&
	     cJSON_AddNumberToObject(root, "installed_sequence", (double)j->installed_sequence) &&
	     add_text(root, "installed_sha256", j->installed_sha256) &&
	     add_text(root, "installed_campaign", j->installed_campaign) &&
	     add_text(root, "slot", j->slot);
	if (ok && j->outcome.kept) {
		cJSON *o = cJSON_AddObjectToObject(root, "outcome");

		ok = o != NULL && add_text(o, "state", j->outcome.state) &&
		     add_text(o, "result", j->outcome.result) &&
		     add_text(o, "reason", j->outcome.reason) &&
		     add_text(o, "campaign", j->outcome.campaign) &&
		     add_text(o, "image_id", j->outcome.image_id) &&
		     cJSON_AddBoolToObject(o, "reported", j->outcome.reported);
	}
	if (ok && j->probation.phase != JOURNAL_PHASE_NONE) {
		const struct journal_probation *p = &j->probation;
		cJSON *o = cJSON_AddObjectToObject(root, "probation");

		ok =
		    o != NULL && add_text(o, "phase", journal_phase_name(p->phase)) &&
		    add_text(o, "group", p->group) && add_text(o, "campaign", p->campaign) &&
		    add_text(o, "image_id", p->image_id) && add_text(o, "sha256", p->sha256) &&
		    add_text(o, "version", p->version) &&
		    cJSON_AddNumberToObject(o, "sequence", (double)p->sequence) &&
		    add_text(o, "slot", p->slot) && add_text(o, "from_slot", p->from_slot) &&
		    cJSON_AddNumberToObject(o, "confirm_timeout_s", (double)p->confirm_timeout_s) &&
		    add_text(o, "boot_id", p->boot_id) &&
		    cJSON_AddNumberToObject(o, "since_ms",
					    (double)(p->since_ms > 0 ? p->since_ms : 0)) &&
		    /* Older agents require this member (their wall-clock deadline) and the
		     * old slot may run one after a rollback: 0 is "unset" to them. */
		    cJSON_AddNumberToObject(o, "deadline", 0) &&
		    cJSON_AddNumberToObject(o, "boot_attempts", (double)p->boot_attempts) &&
		    add_text(o, "reason", p->reason);
	}
	groups = ok ? cJSON_AddArrayToObject(root, "groups") : NULL;
	ok = ok && groups != NULL;
	for (int i = 0; ok && i < j->n_groups; i++) {
		cJSON *g = cJSON_CreateObject();

		if (g == NULL || !cJSON_AddItemToArray(groups, g)) {
			cJSON_Delete(g);
			ok = false;
			break;
		}
		ok = add_text(g, "name", j->groups[i].name) &&
		     cJSON_AddNumberToObject(g, "directive_seq",
					     (double)j->groups[i].directive_seq) &&
		     cJSON_AddBoolToObject(g, "settled", j->groups[i].settled);
	}
	if (ok && j->assignment.seq != 0) {
		cJSON *o = cJSON_AddObjectToObject(root, "assignment");
		cJSON *list = o ? cJSON_AddArrayToObject(o, "groups") : NULL;

		ok = list != NULL &&
		     cJSON_AddNumberToObject(o, "seq", (double)j->assignment.seq) != NULL;
		for (int i = 0; ok && i < j->assignment.n_groups; i++) {
			cJSON *g = cJSON_CreateString(j->assignment.groups[i]);

			ok = g != NULL && cJSON_AddItemToArray(list, g);
			if (!ok)
				cJSON_Delete(g);
		}
	}
	if (ok)
		text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

fota_err journal_save(const struct journal *j, const char *state_dir, struct fota_error *err)
{
	char path[CLIENT_PATH_MAX + 32];
	char *text = journal_text(j);
	fota_err rc;

	if (text == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "journal: out of memory");
	path_in(path, sizeof(path), state_dir, "journal.json");
	rc = fota_atomic_write(path, text, strlen(text), 0600, err);
	free(text);
	return rc;
}

struct journal_group *journal_group(struct journal *j, const char *name)
{
	for (int i = 0; i < j->n_groups; i++)
		if (strcmp(j->groups[i].name, name) == 0)
			return &j->groups[i];
	if (j->n_groups == CLIENT_MAX_GROUPS)
		return NULL;
	memset(&j->groups[j->n_groups], 0, sizeof(j->groups[0]));
	snprintf(j->groups[j->n_groups].name, sizeof(j->groups[0].name), "%s", name);
	return &j->groups[j->n_groups++];
}

void journal_keep_groups(struct journal *j, const char (*names)[FOTA_MAX_SEGMENT_LEN + 1], int n)
{
	int kept = 0;

	for (int i = 0; i < j->n_groups; i++) {
		bool keep = false;

		for (int k = 0; k < n && !keep; k++)
			keep = strcmp(j->groups[i].name, names[k]) == 0;
		if (keep)
			j->groups[kept++] = j->groups[i];
	}
	j->n_groups = kept;
}

fota_err journal_history(const char *state_dir, const struct journal_event *e,
			 struct fota_error *err)
{
	char path[CLIENT_PATH_MAX + 32], ts[FOTA_TIME_STR_LEN], seq[24];
	cJSON *o = cJSON_CreateObject();
	char *text = NULL, *line = NULL;
	size_t n;
	int fd = -1;
	fota_err rc = FOTA_OK;

	fota_time_format(e->ts, ts);
	/* Digits, never the exponent form cJSON gives some large doubles. */
	snprintf(seq, sizeof(seq), "%" PRIu64, e->sequence);
	if (o == NULL || !add_text(o, "ts", ts) || !add_text(o, "campaign", e->campaign) ||
	    !add_text(o, "image", e->image_id) || !add_text(o, "version", e->version) ||
	    cJSON_AddRawToObject(o, "sequence", seq) == NULL ||
	    !add_text(o, "outcome", e->outcome) || !add_text(o, "reason", e->reason) ||
	    (text = cJSON_PrintUnformatted(o)) == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "history: out of memory");
		goto out;
	}
	/* One write per line keeps lines whole under O_APPEND. */
	n = strlen(text);
	line = malloc(n + 1);
	if (line == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "history: out of memory");
		goto out;
	}
	memcpy(line, text, n);
	line[n] = '\n';
	path_in(path, sizeof(path), state_dir, "history.jsonl");
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, n + 1) != (ssize_t)(n + 1) || fdatasync(fd) != 0)
		rc = fota_error_set(err, FOTA_ERR_IO, "history: cannot append to %s: %s", path,
				    strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(text);
	cJSON_Delete(o);
	return rc;
}
