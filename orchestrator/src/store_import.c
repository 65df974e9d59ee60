/* SPDX-License-Identifier: Apache-2.0 */
/* One-time import of the state that older versions kept in files beside the store: per-group
 * directive sequences and publish records, and the events.jsonl audit trail. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/atomic_file.h"
#include "fota/timeutil.h"
#include "fota/topics.h"

#include "cmd.h"
#include "store.h"

/* Each file was written by the orchestrator itself; these bound what is read of a damaged one. */
#define SEQ_FILE_MAX 32
#define PUB_FILE_MAX 4096
#define AUDIT_LINE_MAX 8192

static const char *json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* Older versions wrote "<n>\n" after raising it, before the directive was signed. */
static fota_err import_seq(struct orch_store *s, const char *group, const char *path,
			   struct fota_error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t last;
	char *end = NULL;
	fota_err rc = fota_read_file(path, SEQ_FILE_MAX, &data, &len, err);

	if (rc == FOTA_ERR_NOT_FOUND) {
		fota_error_clear(err);
		return FOTA_OK;
	}
	if (rc)
		return rc;
	last = strtoull((const char *)data, &end, 10);
	if (end == (char *)data || (*end && *end != '\n')) {
		/* Devices refuse a sequence that does not rise; the clock is a safe upper bound
		 * for a counter that only ever rose by one, as the older code did too. */
		orch_log("%s is unreadable; group %s continues from the clock", path, group);
		last = (uint64_t)fota_time_now();
	}
	free(data);
	return s->ops->directive_seq_raise(s, group, last, err);
}

static fota_err import_pub(struct orch_store *s, const char *group, const char *path,
			   struct fota_error *err)
{
	struct orch_group_pub p;
	uint8_t *data = NULL;
	size_t len = 0;
	cJSON *o;
	const cJSON *seq, *when;
	fota_err rc = fota_read_file(path, PUB_FILE_MAX, &data, &len, err);

	if (rc == FOTA_ERR_NOT_FOUND) {
		fota_error_clear(err);
		return FOTA_OK;
	}
	if (rc)
		return rc;
	o = cJSON_ParseWithLength((const char *)data, len);
	free(data);
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "campaign")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "image_id"))) {
		/* It only ever fed `status --group`; the directive itself is on the broker. */
		orch_log("%s is not a campaign record; not imported", path);
		cJSON_Delete(o);
		return FOTA_OK;
	}
	memset(&p, 0, sizeof(p));
	snprintf(p.group, sizeof(p.group), "%s", group);
	snprintf(p.campaign, sizeof(p.campaign), "%s", json_str(o, "campaign"));
	snprintf(p.image_id, sizeof(p.image_id), "%s", json_str(o, "image_id"));
	seq = cJSON_GetObjectItemCaseSensitive(o, "directive_seq");
	when = cJSON_GetObjectItemCaseSensitive(o, "published");
	p.directive_seq =
	    cJSON_IsNumber(seq) && seq->valuedouble > 0 ? (uint64_t)seq->valuedouble : 0;
	p.published = cJSON_IsNumber(when) ? (int64_t)when->valuedouble : 0;
	cJSON_Delete(o);
	return s->ops->group_pub_put(s, &p, err);
}

static fota_err import_groups(struct orch_store *s, const char *state_dir, size_t *n_groups,
			      struct fota_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX + FOTA_MAX_SEGMENT_LEN + 32];
	struct dirent *de;
	char group[FOTA_MAX_SEGMENT_LEN + 1];
	DIR *d;
	fota_err rc = FOTA_OK;

	snprintf(dir, sizeof(dir), "%s/groups", state_dir);
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return FOTA_OK;
		return fota_error_set(err, FOTA_ERR_IO, "import %s: %s", dir, strerror(errno));
	}
	while (rc == FOTA_OK && (de = readdir(d)) != NULL) {
		if (!fota_topic_segment_valid(de->d_name) || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 || strlen(de->d_name) >= sizeof(group))
			continue;
		memcpy(group, de->d_name, strlen(de->d_name) + 1);
		snprintf(path, sizeof(path), "%s/%s/directive_seq", dir, group);
		rc = import_seq(s, group, path, err);
		if (rc == FOTA_OK) {
			snprintf(path, sizeof(path), "%s/%s/campaign.json", dir, group);
			rc = import_pub(s, group, path, err);
		}
		if (rc == FOTA_OK)
			(*n_groups)++;
	}
	closedir(d);
	return rc;
}

/* One line {ts, device, state, result, reason, campaign, image, version, device_ts}; false if
 * it is not such a line (a line cut short by a crash). */
static bool parse_audit_line(const char *line, size_t len, struct orch_audit *a)
{
	cJSON *o = cJSON_ParseWithLength(line, len);
	bool ok = false;

	memset(a, 0, sizeof(*a));
	if (cJSON_IsObject(o) && fota_topic_segment_valid(json_str(o, "device")) &&
	    json_str(o, "state")[0] &&
	    fota_time_parse(json_str(o, "ts"), &a->ts, NULL) == FOTA_OK) {
		snprintf(a->device, sizeof(a->device), "%s", json_str(o, "device"));
		snprintf(a->state, sizeof(a->state), "%s", json_str(o, "state"));
		snprintf(a->result, sizeof(a->result), "%s", json_str(o, "result"));
		snprintf(a->reason, sizeof(a->reason), "%s", json_str(o, "reason"));
		snprintf(a->campaign, sizeof(a->campaign), "%s", json_str(o, "campaign"));
		snprintf(a->image_id, sizeof(a->image_id), "%s", json_str(o, "image"));
		snprintf(a->version, sizeof(a->version), "%s", json_str(o, "version"));
		if (fota_time_parse(json_str(o, "device_ts"), &a->device_ts, NULL))
			a->device_ts = 0;
		ok = true;
	}
	cJSON_Delete(o);
	return ok;
}

static fota_err import_audit(struct orch_store *s, const char *state_dir, size_t *n_lines,
			     size_t *n_skipped, struct fota_error *err)
{
	char path[PATH_MAX];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct orch_audit a;
	FILE *f;
	fota_err rc = FOTA_OK;

	snprintf(path, sizeof(path), "%s/events.jsonl", state_dir);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return FOTA_OK;
		return fota_error_set(err, FOTA_ERR_IO, "import %s: %s", path, strerror(errno));
	}
	while (rc == FOTA_OK && (len = getline(&line, &cap, f)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len == 0)
			continue;
		if (len > AUDIT_LINE_MAX || !parse_audit_line(line, (size_t)len, &a)) {
			(*n_skipped)++;
			continue;
		}
		rc = s->ops->audit_append(s, &a, err);
		if (rc == FOTA_OK)
			(*n_lines)++;
	}
	if (rc == FOTA_OK && ferror(f))
		rc = fota_error_set(err, FOTA_ERR_IO, "import %s: read error", path);
	free(line);
	fclose(f);
	return rc;
}

fota_err orch_store_import_files(struct orch_store *s, const char *state_dir,
				 struct fota_error *err)
{
	size_t groups = 0, lines = 0, skipped = 0;
	fota_err rc;

	rc = import_groups(s, state_dir, &groups, err);
	if (rc == FOTA_OK)
		rc = import_audit(s, state_dir, &lines, &skipped, err);
	if (rc) {
		fota_error_prefix(err, "import of older state");
		return rc;
	}
	if (groups || lines || skipped)
		orch_log("store: imported %zu groups and %zu audit lines from %s%s", groups, lines,
			 state_dir,
			 skipped ? "; some audit lines were not records and stay only in "
				   "events.jsonl"
				 : "");
	return FOTA_OK;
}
