/* SPDX-License-Identifier: Apache-2.0 */
/* The command list the dynamic-security plugin gets for a batch of devices, and the judgement
 * of its answer: what the plugin must have done for each device. No MQTT here: dynsec.c sends
 * the list and brings the answer, which is network input like any other (a size limit, the
 * strict JSON reader, a reason for every refusal) and is fuzzed (fuzz_dynsec_response). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/json_text.h"

#include "dynsec_batch.h"
#include "store_rows.h"

/* The groups of a batch, each once, comma-joined: FOTA_MAX_ASSIGNED_GROUPS per device. */
#define BATCH_GROUPS_LEN (ORCH_DYNSEC_BATCH * FOTA_MAX_ASSIGNED_GROUPS * (FOTA_MAX_SEGMENT_LEN + 1))

struct orch_dynsec_batch {
	cJSON *root, *cmds; /* {"commands": [...]} and its array */
	const struct orch_dynsec_grant *g;
	size_t n;
	size_t n_cmds[ORCH_DYNSEC_BATCH]; /* commands per device, after the groups' */
	struct {
		size_t n_cmds, device; /* a group's commands, the first device that has it */
	} grp[ORCH_DYNSEC_BATCH * FOTA_MAX_ASSIGNED_GROUPS];
	size_t n_groups;
};

static bool add_cmd(cJSON *cmds, const char *command, const char *k1, const char *v1,
		    const char *k2, const char *v2)
{
	cJSON *c = cJSON_CreateObject();

	if (c == NULL || !cJSON_AddItemToArray(cmds, c)) {
		cJSON_Delete(c);
		return false;
	}
	return cJSON_AddStringToObject(c, "command", command) &&
	       cJSON_AddStringToObject(c, k1, v1) &&
	       (k2 == NULL || cJSON_AddStringToObject(c, k2, v2));
}

/* An ACL allowing topic to role: an addRoleACL command into cmds, or (command NULL) an item of
 * a createRole's "acls". */
static bool add_acl(cJSON *list, const char *command, const char *role, const char *acltype,
		    const char *topic)
{
	cJSON *c = cJSON_CreateObject();

	if (c == NULL || !cJSON_AddItemToArray(list, c)) {
		cJSON_Delete(c);
		return false;
	}
	return (command == NULL || (cJSON_AddStringToObject(c, "command", command) &&
				    cJSON_AddStringToObject(c, "rolename", role))) &&
	       cJSON_AddStringToObject(c, "acltype", acltype) &&
	       cJSON_AddStringToObject(c, "topic", topic) && cJSON_AddTrueToObject(c, "allow");
}

/* {"<key>": name}, appended to the array list. */
static bool add_named(cJSON *list, const char *key, const char *name)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddItemToArray(list, o)) {
		cJSON_Delete(o);
		return false;
	}
	return cJSON_AddStringToObject(o, key, name) != NULL;
}

/*
 * A role with its ACLs: createRole carrying them, then each again as addRoleACL, which fills
 * in a role that exists without them and is otherwise refused as existing. The plugin rewrites
 * its whole state file after every command that changes something (Mosquitto 2.0), so a
 * command per ACL of a new role would rewrite it once per ACL; a refused command writes
 * nothing.
 */
static bool role_cmds(cJSON *cmds, const char *role, size_t n, const char *const *acltype,
		      const char *const *topic)
{
	cJSON *c = cJSON_CreateObject(), *acls = NULL;
	bool ok;

	if (c == NULL || !cJSON_AddItemToArray(cmds, c)) {
		cJSON_Delete(c);
		return false;
	}
	ok = cJSON_AddStringToObject(c, "command", "createRole") &&
	     cJSON_AddStringToObject(c, "rolename", role) &&
	     (acls = cJSON_AddArrayToObject(c, "acls")) != NULL;
	for (size_t i = 0; ok && i < n; i++)
		ok = add_acl(acls, NULL, role, acltype[i], topic[i]);
	for (size_t i = 0; ok && i < n; i++)
		ok = add_acl(cmds, "addRoleACL", role, acltype[i], topic[i]);
	return ok;
}

/* A group's role and dynsec group (read its topics). */
static bool group_cmds(cJSON *cmds, const char *prefix, const char *group)
{
	char name[FOTA_MAX_SEGMENT_LEN + 16], topic[FOTA_MAX_TOPIC_LEN + 1];
	const char *types[] = {"subscribePattern", "publishClientReceive"};
	const char *topics[] = {topic, topic};

	snprintf(name, sizeof(name), "fota-group-%s", group);
	snprintf(topic, sizeof(topic), "%s/groups/%s/#", prefix, group);
	return role_cmds(cmds, name, 2, types, topics) &&
	       add_cmd(cmds, "createGroup", "groupname", name, NULL, NULL) &&
	       add_cmd(cmds, "addGroupRole", "groupname", name, "rolename", name);
}

/*
 * The device's own role, its client in that role and in the groups of new_groups (created
 * by group_cmds before), out of those of old_groups it no longer has, and a getClient to
 * check the result. A new client gets its role and groups in createClient (one write of the
 * plugin's file); addClientRole and addGroupClient do the same for a client that exists, and
 * are refused otherwise.
 */
static bool device_cmds(cJSON *cmds, const char *prefix, const char *device, const char *old_groups,
			const char *new_groups)
{
	static const struct {
		const char *acltype, *leaf;
	} own[] = {
	    {"publishClientSend", "status"},	{"publishClientSend", "request"},
	    {"subscribeLiteral", "chunks"},	{"publishClientReceive", "chunks"},
	    {"subscribeLiteral", "assignment"}, {"publishClientReceive", "assignment"},
	    {"subscribeLiteral", "key"},	{"publishClientReceive", "key"},
	};
	enum { N_OWN = sizeof(own) / sizeof(own[0]) };
	char role[FOTA_MAX_SEGMENT_LEN + 16], topics[N_OWN][FOTA_MAX_TOPIC_LEN + 1];
	char name[FOTA_MAX_SEGMENT_LEN + 16];
	const char *types[N_OWN], *tp[N_OWN];
	cJSON *create = NULL, *roles = NULL, *groups = NULL;
	bool ok;

	snprintf(role, sizeof(role), "fota-device-%s", device);
	for (size_t i = 0; i < N_OWN; i++) {
		snprintf(topics[i], sizeof(topics[i]), "%s/devices/%s/%s", prefix, device,
			 own[i].leaf);
		types[i] = own[i].acltype;
		tp[i] = topics[i];
	}
	ok = role_cmds(cmds, role, N_OWN, types, tp) && (create = cJSON_CreateObject()) != NULL &&
	     cJSON_AddItemToArray(cmds, create);
	if (!ok) {
		cJSON_Delete(create);
		return false;
	}
	ok = cJSON_AddStringToObject(create, "command", "createClient") &&
	     cJSON_AddStringToObject(create, "username", device) &&
	     (roles = cJSON_AddArrayToObject(create, "roles")) != NULL &&
	     add_named(roles, "rolename", role) &&
	     (groups = cJSON_AddArrayToObject(create, "groups")) != NULL &&
	     add_cmd(cmds, "addClientRole", "username", device, "rolename", role);
	for (const char *p = new_groups; ok && p && *p;) {
		size_t len = strcspn(p, ",");

		snprintf(name, sizeof(name), "fota-group-%.*s", (int)len, p);
		ok = len == 0 ||
		     (add_named(groups, "groupname", name) &&
		      add_cmd(cmds, "addGroupClient", "groupname", name, "username", device));
		p += len;
		if (*p)
			p++;
	}
	for (const char *p = old_groups; ok && p && *p;) {
		size_t len = strcspn(p, ",");

		snprintf(name, sizeof(name), "fota-group-%.*s", (int)len, p);
		ok = len == 0 || orch_list_has(new_groups, p, len) ||
		     add_cmd(cmds, "removeGroupClient", "groupname", name, "username", device);
		p += len;
		if (*p)
			p++;
	}
	return ok && add_cmd(cmds, "getClient", "username", device, NULL, NULL);
}

/* A string member, NULL when absent. */
static const char *str_of(const cJSON *o, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* True when the getClient answer shows exactly the wanted groups (fota-group-<g> for each g of
 * wanted) and the device's own role. */
static bool client_as_wanted(const cJSON *data, const char *device, const char *wanted)
{
	const cJSON *client = cJSON_GetObjectItemCaseSensitive(data, "client");
	const cJSON *groups = cJSON_GetObjectItemCaseSensitive(client, "groups");
	const cJSON *roles = cJSON_GetObjectItemCaseSensitive(client, "roles"), *it;
	char role[FOTA_MAX_SEGMENT_LEN + 16];
	size_t n_wanted = 0, n = 0;
	bool has_role = false;

	snprintf(role, sizeof(role), "fota-device-%s", device);
	cJSON_ArrayForEach(it, roles)
	{
		const char *r = str_of(it, "rolename");

		has_role = has_role || (r && strcmp(r, role) == 0);
	}
	for (const char *p = wanted; p && *p; p += *p ? 1 : 0) {
		size_t len = strcspn(p, ",");

		n_wanted += len > 0;
		p += len;
	}
	cJSON_ArrayForEach(it, groups)
	{
		const char *g = str_of(it, "groupname");

		if (g == NULL || strncmp(g, "fota-group-", 11) != 0)
			continue; /* not ours to manage */
		if (!orch_list_has(wanted, g + 11, strlen(g + 11)))
			return false;
		n++;
	}
	return has_role && n == n_wanted;
}

/* What a command is about: its group, role or client. */
static const char *subject(const cJSON *cmd)
{
	const char *name = str_of(cmd, "groupname");

	if (name == NULL)
		name = str_of(cmd, "rolename");
	if (name == NULL)
		name = str_of(cmd, "username");
	return name ? name : "";
}

/*
 * The answers to count commands, from *answer on, in step with the commands sent from *sent
 * on (both cursors move past them): every command answered in order, with its correlation
 * data (an answer to another command list is not ours to judge); the ones that create
 * failed only because what they create exists ("... already exists", "... already in this
 * role"); and, for a device (device not NULL), the final getClient shows it with its role in
 * exactly the wanted groups (the plugin answers a role or group the client has already with
 * an error, so those are judged by the result).
 */
static fota_err check_answers(const cJSON **answer, const cJSON **sent, size_t count,
			      const char *device, const char *wanted, struct fota_error *err)
{
	bool verified = false;

	for (size_t i = 0; i < count; i++, *answer = (*answer)->next, *sent = (*sent)->next) {
		const char *cmd = *answer ? str_of(*answer, "command") : NULL;
		const char *e = *answer ? str_of(*answer, "error") : NULL;
		const char *corr = *answer ? str_of(*answer, "correlationData") : NULL;
		const char *want = str_of(*sent, "correlationData");

		if (corr == NULL || strcmp(corr, want) != 0)
			return fota_error_set(
			    err, FOTA_ERR_MQTT,
			    "dynsec: the broker's response answers another command "
			    "list (correlationData '%.40s' where '%s' was sent)",
			    corr ? corr : "(none)", want);
		if (cmd == NULL || strcmp(cmd, str_of(*sent, "command")) != 0)
			return fota_error_set(err, FOTA_ERR_MQTT,
					      "dynsec: the broker's response does not answer the "
					      "commands sent, in order");
		if (strcmp(cmd, "getClient") == 0) {
			verified =
			    e == NULL &&
			    client_as_wanted(cJSON_GetObjectItemCaseSensitive(*answer, "data"),
					     device, wanted);
			if (!verified)
				return fota_error_set(err, FOTA_ERR_MQTT,
						      "dynsec: client %s does not hold exactly its "
						      "role and groups %s afterwards%s%s",
						      device, wanted[0] ? wanted : "(none)",
						      e ? ": " : "", e ? e : "");
			continue;
		}
		if (e == NULL || strstr(e, "already") != NULL ||
		    strcmp(cmd, "addClientRole") == 0 || strcmp(cmd, "addGroupClient") == 0 ||
		    strcmp(cmd, "removeGroupClient") == 0)
			continue;
		return fota_error_set(err, FOTA_ERR_MQTT, "dynsec: %s %s: %s", cmd, subject(*sent),
				      e);
	}
	if (device && !verified)
		return fota_error_set(err, FOTA_ERR_MQTT, "dynsec: no getClient answer for %s",
				      device);
	return FOTA_OK;
}

/* correlationData "<tag>-<k>" on command k of the list. */
static bool tag_cmds(cJSON *cmds, const char *tag)
{
	char data[ORCH_DYNSEC_TAG_MAX + 24];
	cJSON *cmd;
	size_t k = 0;

	cJSON_ArrayForEach(cmd, cmds)
	{
		snprintf(data, sizeof(data), "%s-%zu", tag, k++);
		if (!cJSON_AddStringToObject(cmd, "correlationData", data))
			return false;
	}
	return true;
}

fota_err orch_dynsec_batch_new(const char *prefix, const char *tag,
			       const struct orch_dynsec_grant *g, size_t n,
			       struct orch_dynsec_batch **out, struct fota_error *err)
{
	struct orch_dynsec_batch *b = calloc(1, sizeof(*b));
	char *seen = malloc(BATCH_GROUPS_LEN);
	size_t n_seen = 0, before;
	bool ok = b != NULL && seen != NULL && n <= ORCH_DYNSEC_BATCH &&
		  strlen(tag) <= ORCH_DYNSEC_TAG_MAX;

	*out = NULL;
	if (ok) {
		b->g = g;
		b->n = n;
		b->root = cJSON_CreateObject();
		b->cmds = cJSON_AddArrayToObject(b->root, "commands");
		ok = b->cmds != NULL;
		seen[0] = '\0';
	}
	/* Each group once, with the first device that has it. */
	for (size_t i = 0; ok && i < n; i++) {
		for (const char *p = g[i].new_groups; ok && p && *p;) {
			size_t len = strcspn(p, ",");

			if (len > 0 && len <= FOTA_MAX_SEGMENT_LEN &&
			    !orch_list_has(seen, p, len) && n_seen + len + 2 <= BATCH_GROUPS_LEN &&
			    b->n_groups < sizeof(b->grp) / sizeof(b->grp[0])) {
				n_seen +=
				    (size_t)snprintf(seen + n_seen, BATCH_GROUPS_LEN - n_seen,
						     "%s%.*s", n_seen ? "," : "", (int)len, p);
				before = (size_t)cJSON_GetArraySize(b->cmds);
				ok = group_cmds(b->cmds, prefix, seen + n_seen - len);
				b->grp[b->n_groups].n_cmds =
				    (size_t)cJSON_GetArraySize(b->cmds) - before;
				b->grp[b->n_groups++].device = i;
			}
			p += len;
			if (*p)
				p++;
		}
	}
	for (size_t i = 0; ok && i < n; i++) {
		before = (size_t)cJSON_GetArraySize(b->cmds);
		ok = device_cmds(b->cmds, prefix, g[i].device, g[i].old_groups, g[i].new_groups);
		b->n_cmds[i] = (size_t)cJSON_GetArraySize(b->cmds) - before;
	}
	ok = ok && tag_cmds(b->cmds, tag);
	free(seen);
	if (!ok) {
		orch_dynsec_batch_free(b);
		if (n > ORCH_DYNSEC_BATCH)
			return fota_error_set(err, FOTA_ERR_INVAL,
					      "dynsec: %zu devices in one batch, at most %d", n,
					      ORCH_DYNSEC_BATCH);
		if (strlen(tag) > ORCH_DYNSEC_TAG_MAX)
			return fota_error_set(err, FOTA_ERR_INVAL,
					      "dynsec: a tag of %zu bytes, at most %d", strlen(tag),
					      ORCH_DYNSEC_TAG_MAX);
		return fota_error_set(err, FOTA_ERR_NOMEM, "dynsec: out of memory");
	}
	*out = b;
	return FOTA_OK;
}

char *orch_dynsec_batch_text(const struct orch_dynsec_batch *b)
{
	return cJSON_PrintUnformatted(b->root);
}

size_t orch_dynsec_batch_commands(const struct orch_dynsec_batch *b)
{
	return (size_t)cJSON_GetArraySize(b->cmds);
}

fota_err orch_dynsec_batch_judge(const struct orch_dynsec_batch *b, const char *response,
				 size_t len, size_t *granted, struct fota_error *err)
{
	const cJSON *sent, *answer;
	cJSON *answers = NULL;
	fota_err rc;

	*granted = 0;
	rc = fota_json_parse_object(response, len, ORCH_DYNSEC_MAX_RESPONSE_BYTES, &answers, err);
	if (rc) {
		fota_error_prefix(err, "dynsec: the broker's response");
		return rc;
	}
	answer = cJSON_GetObjectItemCaseSensitive(answers, "responses");
	if (!cJSON_IsArray(answer) ||
	    (size_t)cJSON_GetArraySize(answer) != orch_dynsec_batch_commands(b)) {
		rc =
		    fota_error_set(err, FOTA_ERR_MQTT,
				   "dynsec: the broker's response does not answer the %zu commands",
				   orch_dynsec_batch_commands(b));
		goto out;
	}
	answer = answer->child;
	sent = b->cmds->child;
	for (size_t k = 0; k < b->n_groups; k++) {
		char where[FOTA_MAX_SEGMENT_LEN + 16];

		rc = check_answers(&answer, &sent, b->grp[k].n_cmds, NULL, "", err);
		if (rc) {
			snprintf(where, sizeof(where), "device %s", b->g[b->grp[k].device].device);
			fota_error_prefix(err, where);
			goto out;
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		char where[FOTA_MAX_SEGMENT_LEN + 16];
		const char *wanted = b->g[i].new_groups ? b->g[i].new_groups : "";

		rc = check_answers(&answer, &sent, b->n_cmds[i], b->g[i].device, wanted, err);
		if (rc) {
			snprintf(where, sizeof(where), "device %s", b->g[i].device);
			fota_error_prefix(err, where);
			goto out;
		}
		*granted = i + 1;
	}
out:
	cJSON_Delete(answers);
	return rc;
}

void orch_dynsec_batch_free(struct orch_dynsec_batch *b)
{
	if (b == NULL)
		return;
	cJSON_Delete(b->root);
	free(b);
}
