/* SPDX-License-Identifier: Apache-2.0 */
/* `status`: the fleet view: the devices' latest status reports, as the broker replays them
 * (retained) and as the store recorded them, for devices the broker does not replay. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fota/status.h"
#include "fota/timeutil.h"

#include "fota/topics.h"

#include "broker.h"
#include "cmd.h"
#include "config.h"
#include "fleet.h"
#include "known_devices.h"
#include "publisher.h"
#include "store.h"

static const char status_usage[] =
    "Usage: fota-orchestrator status [--group G] [--wait SECONDS] [--json] [OPTIONS]\n"
    "\n"
    "Collects the devices' latest (retained) status reports for --wait seconds (default 2)\n"
    "and prints them as a table, or as a JSON array with --json. Devices the store of the\n"
    "state directory knows (registry, campaigns) are asked for by their exact status topic,\n"
    "and shown as the store last recorded them when the broker replays nothing for them.\n"
    "\n"
    "  --group G              only the group's members: devices whose status names G, the\n"
    "                         registry's members of G, and devices whose status names the\n"
    "                         campaign or image last published to G from this state\n"
    "                         directory; members that sent no status are named on stderr\n"
    "  --wait SECONDS         how long to collect (default 2)\n"
    "\n";

enum { OPT_GROUP = 1, OPT_WAIT };

/* The registry's members of a group, sorted by id (the store's order), each marked when a
 * status of it was seen. */
struct members {
	char (*ids)[FOTA_MAX_SEGMENT_LEN + 1];
	bool *seen;
	size_t n, cap;
	bool oom;
};

static int add_member(void *ctx, const struct orch_device *d)
{
	struct members *m = ctx;

	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		void *ids = realloc(m->ids, ncap * sizeof(*m->ids));
		void *seen;

		if (ids)
			m->ids = ids;
		seen = ids ? realloc(m->seen, ncap * sizeof(*m->seen)) : NULL;
		if (!seen) {
			m->oom = true;
			return 1;
		}
		m->seen = seen;
		m->cap = ncap;
	}
	memcpy(m->ids[m->n], d->id, sizeof(m->ids[m->n]));
	m->seen[m->n++] = false;
	return 0;
}

static int cmp_id(const void *key, const void *elem)
{
	return strcmp(key, elem);
}

/* Index of device among the members, or -1. */
static long member_index(const struct members *m, const char *device)
{
	const char(*hit)[FOTA_MAX_SEGMENT_LEN + 1] =
	    m->n ? bsearch(device, m->ids, m->n, sizeof(*m->ids), cmp_id) : NULL;

	return hit ? (long)(hit - m->ids) : -1;
}

static bool names_group(const struct fota_status *s, const char *group)
{
	for (size_t i = 0; i < s->n_groups; i++)
		if (strcmp(s->groups[i], group) == 0)
			return true;
	return false;
}

/* Registry members of group, and the campaign and image last published to it ("" if none),
 * from the store of cfg's state directory. */
static fota_err load_group(const struct orch_config *cfg, const char *group, struct members *m,
			   char campaign[FOTA_MAX_NAME_LEN + 1],
			   char image[FOTA_IMAGE_ID_HEX_LEN + 1], struct fota_error *err)
{
	struct orch_store *st = NULL;
	struct orch_group_pub pub;
	fota_err rc = orch_open_store(cfg, &st, err);

	if (rc == FOTA_OK) {
		rc = st->ops->group_pub_get(st, group, &pub, err);
		if (rc == FOTA_OK) {
			snprintf(campaign, FOTA_MAX_NAME_LEN + 1, "%s", pub.campaign);
			snprintf(image, FOTA_IMAGE_ID_HEX_LEN + 1, "%s", pub.image_id);
		} else if (rc == FOTA_ERR_NOT_FOUND) {
			fota_error_clear(err); /* nothing published to it: membership decides */
			rc = FOTA_OK;
		}
	}
	if (rc == FOTA_OK)
		rc = st->ops->device_each(st, group, add_member, m, err);
	if (rc == FOTA_OK && m->oom)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	orch_store_close(st);
	return rc;
}

static cJSON *status_json(const struct fota_status *s, bool from_store)
{
	char t[FOTA_TIME_STR_LEN];
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	fota_time_format(s->timestamp, t);
	cJSON_AddStringToObject(o, "device", s->device);
	cJSON_AddStringToObject(o, "state", fota_state_name(s->state));
	cJSON_AddStringToObject(o, "result", fota_result_name(s->result));
	cJSON_AddNumberToObject(o, "lwm2m_result", fota_result_lwm2m(s->result));
	cJSON_AddNumberToObject(o, "progress", orch_status_percent(s));
	cJSON_AddStringToObject(o, "version", s->version);
	cJSON_AddStringToObject(o, "reason", s->reason);
	cJSON_AddStringToObject(o, "campaign", s->campaign);
	cJSON_AddStringToObject(o, "image", s->image_id);
	cJSON_AddNumberToObject(o, "sequence", (double)s->sequence);
	cJSON_AddNumberToObject(o, "chunks_present", s->chunks_present);
	cJSON_AddNumberToObject(o, "chunk_count", s->chunk_count);
	cJSON_AddNumberToObject(o, "bytes_received", (double)s->bytes_received);
	cJSON_AddStringToObject(o, "last_seen", t);
	cJSON_AddStringToObject(o, "source", from_store ? "store" : "broker");
	return o;
}

static void print_row(const struct fota_status *s)
{
	char t[FOTA_TIME_STR_LEN], pct[16];
	int p = orch_status_percent(s);

	if (p >= 0)
		snprintf(pct, sizeof(pct), "%d%%", p);
	else
		snprintf(pct, sizeof(pct), "-");
	fota_time_format(s->timestamp, t);
	printf("%-20s %-12s %-20s %5s  %-12s %-20s  %s\n", s->device, fota_state_name(s->state),
	       fota_result_name(s->result), pct, s->version[0] ? s->version : "-", t,
	       s->reason[0] ? s->reason : "-");
}

/* The store of the state directory if there is one (status never creates one); NULL if not. */
static fota_err open_existing_store(const struct orch_config *cfg, struct orch_store **out,
				    struct fota_error *err)
{
	char path[PATH_MAX];

	*out = NULL;
	if (orch_state_path(cfg, path, sizeof(path), err, "orchestrator.db") != FOTA_OK)
		return err->code;
	if (access(path, F_OK) != 0)
		return FOTA_OK;
	return orch_open_store(cfg, out, err);
}

static int cmp_status(const void *a, const void *b)
{
	return strcmp(((const struct fota_status *)a)->device,
		      ((const struct fota_status *)b)->device);
}

/* Appends, for every known device the broker replayed nothing for, what the store last
 * recorded of it; nonzero on lack of memory. all[0..*n) are the broker's, sorted by device. */
static int add_from_store(struct orch_store *st, const struct orch_known *known,
			  struct fota_status **all, size_t *n)
{
	size_t heard = *n;

	for (size_t i = 0; st && i < known->n; i++) {
		struct fota_status s, *grown;
		struct fota_error err = {0};

		snprintf(s.device, sizeof(s.device), "%s", known->ids[i]);
		if (heard && bsearch(&s, *all, heard, sizeof(**all), cmp_status))
			continue;
		if (orch_known_status(st, known->ids[i], &s, &err) != FOTA_OK)
			continue; /* gone meanwhile, or unreadable: the broker's view stands */
		if (s.timestamp == 0)
			continue; /* registered, never heard from: no row, --group names it */
		grown = realloc(*all, (*n + 1) * sizeof(**all));
		if (grown == NULL)
			return 1;
		*all = grown;
		(*all)[(*n)++] = s;
	}
	return 0;
}

int orch_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"group", required_argument, NULL, OPT_GROUP},
	    {"wait", required_argument, NULL, OPT_WAIT},
	    ORCH_COMMON_LONGOPTS,
	};
	struct orch_config cfg;
	struct fota_error err = {0};
	struct orch_routes routes;
	struct fota_mqtt *mqtt = NULL;
	struct orch_fleet *fleet = NULL;
	struct fota_status *all = NULL;
	char campaign[FOTA_MAX_NAME_LEN + 1] = "", image[FOTA_IMAGE_ID_HEX_LEN + 1] = "";
	const char *group = NULL;
	struct members members = {0};
	uint64_t wait_s = 2;
	size_t n = 0, n_heard = 0, i, shown = 0;
	struct orch_store *store = NULL;
	struct orch_known known = {0};
	cJSON *arr = NULL;
	int opt, ret = ORCH_EXIT_USAGE;

	orch_config_init(&cfg);
	orch_routes_init(&routes, cfg.prefix);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (orch_config_flag(&cfg, opt, optarg))
			continue;
		if (opt == OPT_GROUP) {
			group = optarg;
			continue;
		}
		if (opt == OPT_WAIT) {
			if (orch_parse_u64("--wait", optarg, 0, 3600, &wait_s, &err)) {
				orch_fail("status", &err);
				goto out;
			}
			continue;
		}
		fputs(status_usage, stderr);
		goto out;
	}
	if (orch_cli_help(&cfg, status_usage)) {
		ret = ORCH_EXIT_OK;
		goto out;
	}
	if (optind != argc) {
		orch_log("status: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (orch_cli_load_config(&cfg, &err))
		goto out;
	routes.prefix = cfg.prefix;
	if (group && !fota_topic_segment_valid(group)) {
		orch_log("status: --group '%s' is not a group name ([A-Za-z0-9._-])", group);
		goto out;
	}
	if (group && load_group(&cfg, group, &members, campaign, image, &err)) {
		orch_fail("status: registry", &err);
		ret = ORCH_EXIT_FAIL;
		goto out;
	}

	ret = ORCH_EXIT_FAIL;
	if (orch_fleet_new(NULL, NULL, NULL, &fleet, &err)) {
		orch_fail("status", &err);
		goto out;
	}
	routes.quiet = true;
	if (orch_broker_check_files(&cfg, &err)) {
		orch_fail("configuration", &err);
		ret = ORCH_EXIT_USAGE;
		goto out;
	}
	if (orch_broker_connect(&cfg, &routes, &mqtt, &err)) {
		orch_fail("connect to broker", &err);
		ret = orch_broker_exit(err.code);
		goto out;
	}
	orch_routes_set(&routes, NULL, fleet);
	if (orch_broker_subscribe(mqtt, &cfg, "status", false, &err)) {
		orch_fail("subscribe", &err);
		ret = ORCH_EXIT_BROKER;
		goto out;
	}
	if (open_existing_store(&cfg, &store, &err) ||
	    (store && orch_known_devices(store, false, &known, &err))) {
		orch_fail("status: store", &err);
		goto out;
	}
	if (orch_broker_replay_statuses(mqtt, &cfg, known.ids, known.n, &err))
		orch_fail("status: replay", &err); /* what arrived and the store still show */
	orch_sleep_ms((long)wait_s * 1000);
	orch_routes_clear(&routes);

	n = orch_fleet_snapshot(fleet, &all);
	if (n == (size_t)-1) {
		orch_log("status: out of memory");
		all = NULL;
		goto out;
	}
	n_heard = n;
	if (add_from_store(store, &known, &all, &n)) {
		orch_log("status: out of memory");
		goto out;
	}
	if (cfg.json) {
		arr = cJSON_CreateArray();
		if (!arr) {
			orch_log("status: out of memory");
			goto out;
		}
	} else {
		printf("%-20s %-12s %-20s %5s  %-12s %-20s  %s\n", "DEVICE", "STATE", "RESULT",
		       "PROG", "VERSION", "LAST SEEN", "REASON");
	}
	for (i = 0; i < n; i++) {
		const struct fota_status *s = &all[i];

		if (group) {
			long m = member_index(&members, s->device);

			if (m >= 0)
				members.seen[m] = true;
			else if (!names_group(s, group) &&
				 !(campaign[0] && strcmp(s->campaign, campaign) == 0) &&
				 !(image[0] && s->image_id[0] && strcmp(s->image_id, image) == 0))
				continue;
		}
		shown++;
		if (arr)
			cJSON_AddItemToArray(arr, status_json(s, i >= n_heard));
		else
			print_row(s);
	}
	if (arr)
		orch_print_json(arr, NULL);
	else if (shown == 0) {
		orch_log("no device status received within %llu s", (unsigned long long)wait_s);
	}
	for (i = 0; i < members.n; i++)
		if (!members.seen[i])
			orch_log("%s: member of %s, no status received within %llu s",
				 members.ids[i], group, (unsigned long long)wait_s);
	ret = ORCH_EXIT_OK;
out:
	orch_routes_clear(&routes);
	fota_mqtt_free(mqtt);
	orch_fleet_free(fleet);
	orch_routes_destroy(&routes);
	cJSON_Delete(arr);
	free(all);
	free(members.ids);
	free(members.seen);
	orch_known_free(&known);
	orch_store_close(store);
	return ret;
}
