/* SPDX-License-Identifier: Apache-2.0 */
/* The dynamic-security plugin's clients, roles and groups, driven over $CONTROL: one command
 * list per device, answered by one response the plugin publishes. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/timeutil.h"

#include "cmd.h"
#include "dynsec.h"

#define CONTROL_TOPIC "$CONTROL/dynamic-security/v1"
#define RESPONSE_TOPIC CONTROL_TOPIC "/response"
/* A response lists one short object per command; a device with 8 groups sends about 60. */
#define MAX_RESPONSE_BYTES (64 * 1024)

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *response; /* NUL-terminated copy, NULL until it came */
};

/* MQTT thread. */
static void on_control(void *ctx, const char *topic, const uint8_t *payload, size_t len)
{
	struct waiter *w = ctx;

	if (strcmp(topic, RESPONSE_TOPIC) != 0 || len > MAX_RESPONSE_BYTES)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->response == NULL && (w->response = malloc(len + 1)) != NULL) {
		memcpy(w->response, payload, len);
		w->response[len] = '\0';
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
}

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

static bool add_acl(cJSON *cmds, const char *role, const char *acltype, const char *topic)
{
	cJSON *c = cJSON_CreateObject();

	if (c == NULL || !cJSON_AddItemToArray(cmds, c)) {
		cJSON_Delete(c);
		return false;
	}
	return cJSON_AddStringToObject(c, "command", "addRoleACL") &&
	       cJSON_AddStringToObject(c, "rolename", role) &&
	       cJSON_AddStringToObject(c, "acltype", acltype) &&
	       cJSON_AddStringToObject(c, "topic", topic) && cJSON_AddTrueToObject(c, "allow");
}

/* True when csv (comma-joined names) holds name. */
static bool has(const char *csv, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = csv; p && *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len;
		if (*p)
			p++;
	}
	return false;
}

/* The device's own role and client. */
static bool device_cmds(cJSON *cmds, const struct orch_config *cfg, const char *device)
{
	static const struct {
		const char *acltype, *leaf;
	} own[] = {
	    {"publishClientSend", "status"},	{"publishClientSend", "request"},
	    {"subscribeLiteral", "chunks"},	{"publishClientReceive", "chunks"},
	    {"subscribeLiteral", "assignment"}, {"publishClientReceive", "assignment"},
	    {"subscribeLiteral", "key"},	{"publishClientReceive", "key"},
	};
	char role[FOTA_MAX_SEGMENT_LEN + 16], topic[FOTA_MAX_TOPIC_LEN + 1];
	bool ok;

	snprintf(role, sizeof(role), "fota-device-%s", device);
	ok = add_cmd(cmds, "createRole", "rolename", role, NULL, NULL);
	for (size_t i = 0; ok && i < sizeof(own) / sizeof(own[0]); i++) {
		snprintf(topic, sizeof(topic), "%s/devices/%s/%s", cfg->prefix, device,
			 own[i].leaf);
		ok = add_acl(cmds, role, own[i].acltype, topic);
	}
	return ok && add_cmd(cmds, "createClient", "username", device, NULL, NULL) &&
	       add_cmd(cmds, "addClientRole", "username", device, "rolename", role);
}

/* A group's role and dynsec group (read its topics), and the device in it. */
static bool join_cmds(cJSON *cmds, const struct orch_config *cfg, const char *device,
		      const char *group)
{
	char name[FOTA_MAX_SEGMENT_LEN + 16], topic[FOTA_MAX_TOPIC_LEN + 1];

	snprintf(name, sizeof(name), "fota-group-%s", group);
	snprintf(topic, sizeof(topic), "%s/groups/%s/#", cfg->prefix, group);
	return add_cmd(cmds, "createRole", "rolename", name, NULL, NULL) &&
	       add_acl(cmds, name, "subscribePattern", topic) &&
	       add_acl(cmds, name, "publishClientReceive", topic) &&
	       add_cmd(cmds, "createGroup", "groupname", name, NULL, NULL) &&
	       add_cmd(cmds, "addGroupRole", "groupname", name, "rolename", name) &&
	       add_cmd(cmds, "addGroupClient", "groupname", name, "username", device);
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
		if (!has(wanted, g + 11))
			return false;
		n++;
	}
	return has_role && n == n_wanted;
}

/* Every command answered; the ones that create failed only because what they create exists
 * ("... already exists", "... already in this role");
 * and the final getClient shows the device with its role in exactly the wanted groups (the
 * plugin answers a role or group the client has already with an error, so those are judged by
 * the result). */
static fota_err check_response(const char *text, size_t n_cmds, const char *device,
			       const char *wanted, struct fota_error *err)
{
	cJSON *root = cJSON_Parse(text);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "responses"), *r;
	fota_err rc = FOTA_OK;
	bool verified = false;

	if (!cJSON_IsArray(list) || (size_t)cJSON_GetArraySize(list) != n_cmds)
		rc = fota_error_set(
		    err, FOTA_ERR_MQTT,
		    "dynsec: the broker's response does not answer the %zu commands", n_cmds);
	cJSON_ArrayForEach(r, list)
	{
		const char *cmd = str_of(r, "command");
		const char *e = str_of(r, "error");

		if (rc != FOTA_OK || cmd == NULL)
			continue;
		if (strcmp(cmd, "getClient") == 0) {
			verified = e == NULL &&
				   client_as_wanted(cJSON_GetObjectItemCaseSensitive(r, "data"),
						    device, wanted);
			if (!verified)
				rc = fota_error_set(err, FOTA_ERR_MQTT,
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
		rc = fota_error_set(err, FOTA_ERR_MQTT, "dynsec: %s: %s", cmd, e);
	}
	if (rc == FOTA_OK && !verified)
		rc = fota_error_set(err, FOTA_ERR_MQTT, "dynsec: no getClient answer for %s",
				    device);
	cJSON_Delete(root);
	return rc;
}

fota_err orch_dynsec_device(struct fota_mqtt *m, struct orch_routes *routes,
			    const struct orch_config *cfg, const char *device,
			    const char *old_groups, const char *new_groups, struct fota_error *err)
{
	struct waiter w = {.response = NULL};
	struct timespec deadline;
	cJSON *root = cJSON_CreateObject(), *cmds = cJSON_AddArrayToObject(root, "commands");
	char *text = NULL;
	bool ok = cmds != NULL && device_cmds(cmds, cfg, device);
	fota_err rc = FOTA_OK;

	for (const char *p = new_groups; ok && p && *p;) {
		char g[FOTA_MAX_SEGMENT_LEN + 1];
		size_t len = strcspn(p, ",");

		snprintf(g, sizeof(g), "%.*s", (int)len, p);
		ok = len == 0 || join_cmds(cmds, cfg, device, g);
		p += len;
		if (*p)
			p++;
	}
	for (const char *p = old_groups; ok && p && *p;) {
		char g[FOTA_MAX_SEGMENT_LEN + 1], name[FOTA_MAX_SEGMENT_LEN + 16];
		size_t len = strcspn(p, ",");

		snprintf(g, sizeof(g), "%.*s", (int)len, p);
		snprintf(name, sizeof(name), "fota-group-%s", g);
		ok = len == 0 || has(new_groups, g) ||
		     add_cmd(cmds, "removeGroupClient", "groupname", name, "username", device);
		p += len;
		if (*p)
			p++;
	}
	ok = ok && add_cmd(cmds, "getClient", "username", device, NULL, NULL);
	if (!ok || (text = cJSON_PrintUnformatted(root)) == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "dynsec: out of memory");
		goto out;
	}
	pthread_mutex_init(&w.lock, NULL);
	fota_time_cond_init(&w.cond);
	orch_routes_set_control_hook(routes, on_control, &w);
	rc = fota_mqtt_subscribe(m, RESPONSE_TOPIC, 1, err);
	if (rc == FOTA_OK)
		rc = fota_mqtt_publish(m, CONTROL_TOPIC, text, strlen(text), 1, false,
				       ORCH_DYNSEC_TIMEOUT_MS, err);
	if (rc == FOTA_OK) {
		pthread_mutex_lock(&w.lock);
		fota_time_mono_deadline(&deadline, ORCH_DYNSEC_TIMEOUT_MS);
		while (w.response == NULL &&
		       pthread_cond_timedwait(&w.cond, &w.lock, &deadline) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&w.lock);
		if (w.response == NULL)
			rc = fota_error_set(
			    err, FOTA_ERR_TIMEOUT,
			    "dynsec: no response from the broker's dynamic-security "
			    "plugin within %d ms (is it loaded, and may this identity "
			    "use $CONTROL?)",
			    ORCH_DYNSEC_TIMEOUT_MS);
		else
			rc = check_response(w.response, (size_t)cJSON_GetArraySize(cmds), device,
					    new_groups ? new_groups : "", err);
	}
	orch_routes_set_control_hook(routes, NULL, NULL);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	if (rc == FOTA_OK)
		orch_log("broker access for %s: groups %s", device,
			 new_groups && new_groups[0] ? new_groups : "(none)");
out:
	free(w.response);
	free(text);
	cJSON_Delete(root);
	return rc;
}
