/* SPDX-License-Identifier: Apache-2.0 */
/* `publish`: sign a campaign directive, broadcast the image, then optionally serve and wait. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/atomic_file.h"
#include "fota/directive.h"
#include "fota/signer.h"
#include "fota/status.h"
#include "fota/timeutil.h"
#include "fota/topics.h"

#include "broker.h"
#include "campaign_keys.h"
#include "cmd.h"
#include "config.h"
#include "fleet.h"
#include "daemon.h"
#include "image_store.h"
#include "publisher.h"

#define DEFAULT_DIRECTIVE_DAYS 30u
#define DEFAULT_WAIT_TIMEOUT_S 600u
#define FLUSH_TIMEOUT_MS 60000
/* The waits for reports wake on each status received (status_wake); they also look again
 * this often, which bounds how late SIGINT and the timeouts are noticed. */
#define WAIT_POLL_MS 20
/* The longest the broadcast waits for the awaited devices to take the directive. */
#define BROADCAST_HOLD_MS 2000

static const char publish_usage[] =
    "Usage: fota-orchestrator publish IMAGE_ID --group G [OPTIONS]\n"
    "\n"
    "Signs a campaign directive for group G with the orchestrator key and publishes it\n"
    "(retained) together with the image's chunk table, then broadcasts every chunk, clocked\n"
    "by the broker's acknowledgements (--rate caps it).\n"
    "\n"
    "  --group G              target group\n"
    "  --campaign ID          campaign id (default c-IMAGE_ID)\n"
    "  --admit DEV,DEV,...    admit only these devices (plus --percent); default: all\n"
    "  --percent P            admit a deterministic P % of the group (0..100)\n"
    "  --salt S               salt of the percentage draw (default: the campaign id)\n"
    "  --expires-in-days N    directive lifetime (default 30)\n"
    "  --no-broadcast         publish directive and table only; devices fetch every chunk\n"
    "                         by repair (from --serve or a running `serve`)\n"
    "  --serve                after the broadcast keep serving repairs and status until\n"
    "                         SIGINT/SIGTERM (or until the wait below ends)\n"
    "  --wait-devices D,D,... wait until each of these devices reports --wait-state\n"
    "  --wait-state S         state to wait for (default confirmed)\n"
    "  --timeout S            seconds to wait, counted from the directive (default 600)\n"
    "\n"
    "Exit: 0 all waited-for devices reached the state (or nothing to wait for), 1 a device\n"
    "reported failed or rolled_back, 3 timeout (missing devices are listed), 4 broker.\n"
    "\n";

enum {
	OPT_GROUP = 1,
	OPT_CAMPAIGN,
	OPT_ADMIT,
	OPT_PERCENT,
	OPT_SALT,
	OPT_EXPIRES,
	OPT_SERVE,
	OPT_WAIT_DEVICES,
	OPT_WAIT_STATE,
	OPT_TIMEOUT,
	OPT_NO_BROADCAST,
};

struct devlist {
	char **items;
	size_t n;
};

/* Wakes the waits below when a status arrives, instead of them finding it at their next poll:
 * the broadcast starts, and the command ends, as soon as the report that allows it is in. */
struct status_wake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t reports; /* statuses received so far */
};

static struct status_wake status_wake = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static uint64_t status_reports(void)
{
	uint64_t n;

	pthread_mutex_lock(&status_wake.lock);
	n = status_wake.reports;
	pthread_mutex_unlock(&status_wake.lock);
	return n;
}

/* Waits until a status came after the first `seen`, or ms passed (the poll that stays, for
 * SIGINT and the timeouts); false once stopped. */
static bool await_status(uint64_t seen, long ms)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += ms * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&status_wake.lock);
	while (status_wake.reports == seen && rc != ETIMEDOUT && !orch_stop)
		rc = pthread_cond_timedwait(&status_wake.cond, &status_wake.lock, &until);
	pthread_mutex_unlock(&status_wake.lock);
	return !orch_stop;
}

struct watch {
	char campaign[FOTA_MAX_NAME_LEN + 1];
	char image_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	bool print;
	int64_t published_ms; /* monotonic, just before the directive went out */
	int64_t created;      /* the directive's created time */
};

static void devlist_free(struct devlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Appends the comma-separated device ids in s (repeated flags add up). */
static fota_err devlist_add(struct devlist *l, const char *flag, const char *s,
			    struct fota_error *err)
{
	const char *p = s;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char id[FOTA_MAX_SEGMENT_LEN + 2];
		char **tmp;

		if (len == 0 || len > FOTA_MAX_SEGMENT_LEN)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "%s: empty or overlong device id", flag);
		memcpy(id, p, len);
		id[len] = '\0';
		if (!fota_topic_segment_valid(id))
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "%s: '%s' is not a device id ([A-Za-z0-9._-])", flag,
					      id);
		if (l->n == FOTA_MAX_ADMIT_DEVICES)
			return fota_error_set(err, FOTA_ERR_TOO_BIG, "%s: more than %d devices",
					      flag, FOTA_MAX_ADMIT_DEVICES);
		tmp = realloc(l->items, (l->n + 1) * sizeof(*tmp));
		if (!tmp)
			return fota_error_set(err, FOTA_ERR_NOMEM, "%s: out of memory", flag);
		l->items = tmp;
		l->items[l->n] = strdup(id);
		if (!l->items[l->n])
			return fota_error_set(err, FOTA_ERR_NOMEM, "%s: out of memory", flag);
		l->n++;
		p += len;
		if (*p == ',')
			p++;
	}
	return FOTA_OK;
}

/* A status belongs to this campaign if it names it, or names our image without a campaign;
 * an older retained "confirmed" of another campaign must not end the wait. */
static bool relevant(const struct watch *w, const struct fota_status *s)
{
	if (s->campaign[0])
		return strcmp(s->campaign, w->campaign) == 0;
	return s->image_id[0] && strcmp(s->image_id, w->image_id) == 0;
}

static void format_state(const struct fota_status *s, char *buf, size_t size)
{
	int pct = orch_status_percent(s);
	int n;

	n = snprintf(buf, size, "%s", fota_state_name(s->state));
	if (s->state == FOTA_STATE_DOWNLOADING && pct >= 0)
		n += snprintf(buf + n, size - (size_t)n, " %d%%", pct);
	if (s->result != FOTA_RESULT_NONE && s->result != FOTA_RESULT_SUCCESS)
		n += snprintf(buf + n, size - (size_t)n, " (%s%s%s)", fota_result_name(s->result),
			      s->reason[0] ? ": " : "", s->reason);
}

/* MQTT thread: one line per state change, plus every 10 % of download progress. */
static void on_status(void *ctx, const struct fota_status *prev, const struct fota_status *cur)
{
	const struct watch *w = ctx;
	char line[FOTA_MAX_REASON_LEN + 128];

	pthread_mutex_lock(&status_wake.lock);
	status_wake.reports++;
	pthread_cond_broadcast(&status_wake.cond);
	pthread_mutex_unlock(&status_wake.lock);
	if (!w->print || !relevant(w, cur))
		return;
	if (prev && relevant(w, prev) && prev->state == cur->state &&
	    orch_status_percent(prev) / 10 == orch_status_percent(cur) / 10)
		return;
	format_state(cur, line, sizeof(line));
	printf("%s %s\n", cur->device, line);
	fflush(stdout);
}

/* A report of failure older than the directive is tolerated by this much clock skew. */
#define FRESH_SKEW_S 60

enum dev_class { DEV_PENDING, DEV_DONE, DEV_FAILED };

/* Reaching the wanted state counts whenever the report names this campaign. A failure counts
 * only if it arrived after this directive went out or is dated after it: retrying a campaign
 * must not fail at once on the retained report of the previous attempt. */
static enum dev_class classify(struct orch_fleet *fleet, const struct watch *w, const char *dev,
			       enum fota_state want, struct fota_status *s, bool *have)
{
	int64_t rx = 0;

	*have = orch_fleet_get(fleet, dev, s, &rx) && relevant(w, s);
	if (!*have)
		return DEV_PENDING;
	if (s->state == want)
		return DEV_DONE;
	if ((s->state == FOTA_STATE_FAILED || s->state == FOTA_STATE_ROLLED_BACK) &&
	    (rx >= w->published_ms || s->timestamp >= w->created - FRESH_SKEW_S))
		return DEV_FAILED;
	return DEV_PENDING;
}

/* Evaluates the waited-for devices once; true when every one is done or failed. */
static bool wait_check(struct orch_fleet *fleet, const struct watch *w, const struct devlist *l,
		       enum fota_state want, bool *any_failed)
{
	struct fota_status s;
	bool all_final = true, have;
	size_t i;

	*any_failed = false;
	for (i = 0; i < l->n; i++) {
		switch (classify(fleet, w, l->items[i], want, &s, &have)) {
		case DEV_DONE:
			break;
		case DEV_FAILED:
			*any_failed = true;
			break;
		default:
			all_final = false;
			break;
		}
	}
	return all_final;
}

/* Chunks broadcast before a device subscribed to the image's chunk topic never reach it, and
 * one that missed the whole broadcast waits for it (5 x gap_ms) before it repairs. A device
 * reports on the campaign as it takes the directive and subscribes right behind that report,
 * on the same connection: so the broadcast waits until every awaited device has reported
 * since the directive went out, or BROADCAST_HOLD_MS. */
static void hold_broadcast(struct orch_fleet *fleet, const struct watch *w, const struct devlist *l)
{
	int64_t start = fota_time_mono_ms();

	for (;;) {
		struct fota_status s;
		size_t i, heard = 0;
		int64_t rx = 0;
		uint64_t seen = status_reports();

		for (i = 0; i < l->n; i++)
			if (orch_fleet_get(fleet, l->items[i], &s, &rx) && relevant(w, &s) &&
			    rx >= w->published_ms)
				heard++;
		if (heard == l->n || fota_time_mono_ms() - start >= BROADCAST_HOLD_MS ||
		    !await_status(seen, WAIT_POLL_MS))
			return;
	}
}

static void report_missing(struct orch_fleet *fleet, const struct watch *w, const struct devlist *l,
			   enum fota_state want, unsigned timeout_s)
{
	char msg[1024], st[FOTA_MAX_REASON_LEN + 128];
	struct fota_status s;
	size_t i, n = 0;
	bool have;

	msg[0] = '\0';
	for (i = 0; i < l->n && n + 1 < sizeof(msg); i++) {
		if (classify(fleet, w, l->items[i], want, &s, &have) != DEV_PENDING)
			continue;
		if (have) {
			format_state(&s, st, sizeof(st));
			if (s.state == FOTA_STATE_FAILED || s.state == FOTA_STATE_ROLLED_BACK)
				snprintf(st + strlen(st), sizeof(st) - strlen(st),
					 " before this directive");
		} else {
			snprintf(st, sizeof(st), "no status for this campaign");
		}
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s %s", n ? ", " : "",
				      l->items[i], st);
	}
	orch_log("wait: timed out after %u s: %s", timeout_s, msg);
}

static cJSON *devices_json(struct orch_fleet *fleet, const struct watch *w, const struct devlist *l)
{
	cJSON *arr = cJSON_CreateArray();
	struct fota_status s;
	size_t i;

	for (i = 0; arr && i < l->n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddStringToObject(o, "device", l->items[i]);
		if (orch_fleet_get(fleet, l->items[i], &s, NULL) && relevant(w, &s)) {
			cJSON_AddStringToObject(o, "state", fota_state_name(s.state));
			cJSON_AddStringToObject(o, "result", fota_result_name(s.result));
			cJSON_AddStringToObject(o, "reason", s.reason);
			cJSON_AddNumberToObject(o, "progress", orch_status_percent(&s));
		} else {
			cJSON_AddNullToObject(o, "state");
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int orch_cmd_publish(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"group", required_argument, NULL, OPT_GROUP},
	    {"campaign", required_argument, NULL, OPT_CAMPAIGN},
	    {"admit", required_argument, NULL, OPT_ADMIT},
	    {"percent", required_argument, NULL, OPT_PERCENT},
	    {"salt", required_argument, NULL, OPT_SALT},
	    {"expires-in-days", required_argument, NULL, OPT_EXPIRES},
	    {"serve", no_argument, NULL, OPT_SERVE},
	    {"wait-devices", required_argument, NULL, OPT_WAIT_DEVICES},
	    {"wait-state", required_argument, NULL, OPT_WAIT_STATE},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"no-broadcast", no_argument, NULL, OPT_NO_BROADCAST},
	    ORCH_COMMON_LONGOPTS,
	};
	struct orch_config cfg;
	struct fota_error err = {0};
	struct devlist admit = {0}, waitl = {0};
	struct watch w = {0};
	struct fota_directive d;
	struct orch_daemon_opts opts = {0};
	struct orch_daemon *srv = NULL;
	enum orch_daemon_step step;
	const struct orch_publisher *pub = NULL;
	struct orch_broadcast_stats bstats = {0};
	struct orch_image *img = NULL;
	struct fota_signer *signer = NULL;
	struct fota_mqtt *mqtt = NULL;
	struct orch_fleet *fleet = NULL;
	struct orch_store *store = NULL;
	const char *group = NULL, *campaign = NULL, *salt = NULL, *image_id;
	const char *outcome = "published";
	char t[FOTA_TIME_STR_LEN];
	enum fota_state want = FOTA_STATE_CONFIRMED;
	uint64_t percent = 0, days = DEFAULT_DIRECTIVE_DAYS, timeout_s = DEFAULT_WAIT_TIMEOUT_S;
	bool have_percent = false, serve = false, broadcast = true, waiting, any_failed = false;
	int64_t wait_start = 0;
	int opt, ret = ORCH_EXIT_USAGE;
	fota_err rc;

	memset(&d, 0, sizeof(d));
	orch_config_init(&cfg);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		rc = FOTA_OK;
		if (orch_config_flag(&cfg, opt, optarg))
			continue;
		switch (opt) {
		case OPT_GROUP:
			group = optarg;
			break;
		case OPT_CAMPAIGN:
			campaign = optarg;
			break;
		case OPT_ADMIT:
			rc = devlist_add(&admit, "--admit", optarg, &err);
			break;
		case OPT_PERCENT:
			rc = orch_parse_u64("--percent", optarg, 0, 100, &percent, &err);
			have_percent = true;
			break;
		case OPT_SALT:
			salt = optarg;
			break;
		case OPT_EXPIRES:
			rc = orch_parse_u64("--expires-in-days", optarg, 1, 3650, &days, &err);
			break;
		case OPT_SERVE:
			serve = true;
			break;
		case OPT_NO_BROADCAST:
			broadcast = false;
			break;
		case OPT_WAIT_DEVICES:
			rc = devlist_add(&waitl, "--wait-devices", optarg, &err);
			break;
		case OPT_WAIT_STATE:
			rc = fota_state_parse(optarg, &want, &err);
			break;
		case OPT_TIMEOUT:
			rc = orch_parse_u64("--timeout", optarg, 1, 30u * 86400, &timeout_s, &err);
			break;
		default:
			fputs(publish_usage, stderr);
			goto out;
		}
		if (rc) {
			orch_fail("publish", &err);
			goto out;
		}
	}
	if (orch_cli_help(&cfg, publish_usage)) {
		ret = ORCH_EXIT_OK;
		goto out;
	}
	if (optind + 1 != argc || !group) {
		orch_log("publish: need IMAGE_ID and --group");
		fputs(publish_usage, stderr);
		goto out;
	}
	image_id = argv[optind];
	if (orch_cli_load_config(&cfg, &err))
		goto out;
	if (!fota_topic_segment_valid(group)) {
		orch_log("publish: group '%s' must be 1..64 of [A-Za-z0-9._-]", group);
		goto out;
	}
	snprintf(w.campaign, sizeof(w.campaign), "c-%s", image_id);
	if (campaign) {
		if (!*campaign || strlen(campaign) > FOTA_MAX_NAME_LEN) {
			orch_log("publish: --campaign must have 1..%d characters",
				 FOTA_MAX_NAME_LEN);
			goto out;
		}
		snprintf(w.campaign, sizeof(w.campaign), "%s", campaign);
	}
	if (salt && (!*salt || strlen(salt) > FOTA_MAX_NAME_LEN)) {
		orch_log("publish: --salt must have 1..%d characters", FOTA_MAX_NAME_LEN);
		goto out;
	}
	if (!cfg.orch_key[0]) {
		orch_log("publish: no orchestrator key (--orch-key or [orchestrator] "
			 "orchestrator_key)");
		goto out;
	}
	waiting = waitl.n > 0;
	serve = serve || waiting;

	if (fota_signer_load(cfg.orch_key, NULL, &signer, &err)) {
		orch_fail("load orchestrator key", &err);
		goto out;
	}
	ret = ORCH_EXIT_FAIL;
	if (orch_image_open(&cfg, image_id, &img, &err)) {
		orch_fail("publish", &err);
		/* An image that is not in the store exits 5, as for `campaign create`. */
		ret = orch_exit_for(err.code);
		goto out;
	}
	snprintf(w.image_id, sizeof(w.image_id), "%s", img->id);
	if (img->manifest.expires <= fota_time_now()) {
		fota_time_format(img->manifest.expires, t);
		orch_log("publish: the manifest of image %s expired at %s; devices would refuse it "
			 "(add the image again with a new sequence)",
			 img->id, t);
		goto out;
	}

	/* Directive. */
	d.state = FOTA_CAMPAIGN_ACTIVE;
	snprintf(d.campaign_id, sizeof(d.campaign_id), "%s", w.campaign);
	snprintf(d.group, sizeof(d.group), "%s", group);
	d.created = fota_time_now();
	d.expires = d.created + (int64_t)days * 86400;
	memcpy(d.manifest_sha256, img->manifest_sha256, FOTA_SHA256_LEN);
	d.manifest_jws = strdup(img->manifest_jws);
	d.manifest_jws_len = img->manifest_jws_len;
	if (!d.manifest_jws) {
		orch_log("publish: out of memory");
		goto out;
	}
	d.admit_all = admit.n == 0 && !have_percent;
	d.admit_percent = (uint32_t)percent;
	/* The salt only matters for a percentage draw; with admit_all it must stay empty. */
	if (have_percent)
		snprintf(d.salt, sizeof(d.salt), "%s", salt ? salt : w.campaign);
	d.admit_devices = admit.items;
	d.n_admit_devices = admit.n;
	admit.items = NULL; /* owned by d now */
	admit.n = 0;

	/* Broker session; status and requests are subscribed before anything is published so
	 * no early report or repair request is missed. A burst of a few frames keeps the pipe
	 * full without flooding broker queues. */
	opts.serving = serve;
	opts.exit_after = true;
	opts.burst_bytes = (uint64_t)cfg.window * orch_frame_buf_size(img);
	opts.on_status = on_status;
	opts.status_ctx = &w;
	w.print = serve && !cfg.json;
	srv = orch_daemon_new(&cfg, &opts);
	if (!srv) {
		orch_error("publish: out of memory");
		goto out;
	}
	if (orch_daemon_start(srv, &step, &err)) {
		orch_fail(orch_daemon_step_name(step, "publish"), &err);
		ret = step == ORCH_DAEMON_STEP_CONFIG	   ? ORCH_EXIT_USAGE
		      : step == ORCH_DAEMON_STEP_CONNECT   ? orch_broker_exit(err.code)
		      : step == ORCH_DAEMON_STEP_SUBSCRIBE ? ORCH_EXIT_BROKER
							   : ORCH_EXIT_FAIL;
		goto out;
	}
	pub = orch_daemon_publisher(srv);
	mqtt = orch_daemon_mqtt(srv);
	fleet = orch_daemon_fleet(srv);

	if (orch_open_store(&cfg, &store, &err) ||
	    orch_directive_next_seq(store, group, &d.directive_seq, &err)) {
		orch_fail("directive sequence", &err);
		goto out;
	}
	/* The tables go first: a device that acts on the directive finds them retained. */
	if (orch_publish_tables(pub, &cfg, group, img, &err)) {
		orch_fail("publish table", &err);
		ret = fota_mqtt_is_connected(mqtt) ? ORCH_EXIT_FAIL : ORCH_EXIT_BROKER;
		goto out;
	}
	/* An encrypted image's key reaches the group's members before the directive. */
	if (img->manifest.encryption != FOTA_ENCRYPTION_NONE) {
		unsigned sent = 0;

		if (orch_group_keys_publish(&cfg, store, pub, signer, group, &d, img->id, &sent,
					    &err)) {
			orch_fail("publish content keys", &err);
			ret = fota_mqtt_is_connected(mqtt) ? ORCH_EXIT_FAIL : ORCH_EXIT_BROKER;
			goto out;
		}
	}
	w.created = d.created;
	w.published_ms = fota_time_mono_ms();
	if (orch_publish_directive(pub, store, signer, &d, img->id, &err)) {
		orch_fail("publish directive", &err);
		ret = fota_mqtt_is_connected(mqtt) ? ORCH_EXIT_FAIL : ORCH_EXIT_BROKER;
		goto out;
	}
	wait_start = w.published_ms;
	if (!cfg.json)
		fprintf(stderr,
			"directive %llu for group %s: campaign %s, image %s (%s %s), %u chunks\n",
			(unsigned long long)d.directive_seq, group, w.campaign, img->id,
			img->manifest.name, img->manifest.version, img->manifest.chunk_count);

	/* Repairs interleave with the broadcast (same pacer): a late joiner is served at once
	 * instead of after the whole image went out. */
	if (broadcast && waiting)
		hold_broadcast(fleet, &w, &waitl);
	if (broadcast && orch_broadcast(pub, group, img, !cfg.json, &bstats, &err)) {
		orch_fail("broadcast", &err);
		ret = orch_stop || fota_mqtt_is_connected(mqtt) ? ORCH_EXIT_FAIL : ORCH_EXIT_BROKER;
		goto out;
	}
	if (fota_mqtt_flush(mqtt, FLUSH_TIMEOUT_MS, &err)) {
		orch_fail("broadcast flush", &err);
		ret = fota_mqtt_is_connected(mqtt) ? ORCH_EXIT_FAIL : ORCH_EXIT_BROKER;
		goto out;
	}
	if (fota_mqtt_failed_publishes(mqtt))
		orch_log("broadcast: %llu frames were lost with a broker connection; devices "
			 "repair the gaps%s",
			 (unsigned long long)fota_mqtt_failed_publishes(mqtt),
			 serve ? "" : " (run `serve` to answer them)");
	ret = ORCH_EXIT_OK;

	if (serve) {
		if (!cfg.json)
			fprintf(stderr, "serving repairs and status%s\n",
				waiting ? "" : "; SIGINT or SIGTERM stops");
		outcome = "stopped";
		for (;;) {
			uint64_t seen = status_reports();
			bool all_final =
			    waiting && wait_check(fleet, &w, &waitl, want, &any_failed);

			if (all_final) {
				outcome = any_failed ? "failed" : "done";
				ret = any_failed ? ORCH_EXIT_FAIL : ORCH_EXIT_OK;
				break;
			}
			if (waiting &&
			    fota_time_mono_ms() - wait_start >= (int64_t)timeout_s * 1000) {
				wait_check(fleet, &w, &waitl, want, &any_failed);
				report_missing(fleet, &w, &waitl, want, (unsigned)timeout_s);
				outcome = any_failed ? "failed" : "timeout";
				ret = any_failed ? ORCH_EXIT_FAIL : ORCH_EXIT_TIMEOUT;
				break;
			}
			if (!await_status(seen, WAIT_POLL_MS)) {
				if (waiting) {
					orch_log("wait: interrupted");
					ret = ORCH_EXIT_FAIL;
				}
				break;
			}
		}
		if (any_failed && !cfg.json)
			orch_log("wait: at least one device reported failed or rolled_back");
	}

	if (cfg.json) {
		cJSON *o = cJSON_CreateObject(), *b = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "image_id", img->id);
		cJSON_AddStringToObject(o, "group", group);
		cJSON_AddStringToObject(o, "campaign", w.campaign);
		cJSON_AddNumberToObject(o, "directive_seq", (double)d.directive_seq);
		cJSON_AddNumberToObject(b, "chunks", bstats.chunks);
		cJSON_AddNumberToObject(b, "bytes", (double)bstats.bytes);
		cJSON_AddNumberToObject(b, "seconds", (double)bstats.elapsed_ms / 1000.0);
		cJSON_AddNumberToObject(b, "lost_publishes",
					(double)fota_mqtt_failed_publishes(mqtt));
		cJSON_AddItemToObject(o, "broadcast", b);
		if (serve) {
			cJSON *r = cJSON_CreateObject();
			struct orch_daemon_stats ds;

			orch_daemon_get_stats(srv, &ds);
			cJSON_AddNumberToObject(r, "served", (double)ds.repair.served);
			cJSON_AddNumberToObject(r, "rejected", (double)ds.repair.rejected);
			cJSON_AddNumberToObject(r, "dropped", (double)ds.repair.dropped);
			cJSON_AddNumberToObject(r, "frames", (double)ds.repair.frames);
			cJSON_AddItemToObject(o, "repairs", r);
		}
		if (waiting) {
			cJSON_AddStringToObject(o, "wait_state", fota_state_name(want));
			cJSON_AddItemToObject(o, "devices", devices_json(fleet, &w, &waitl));
		}
		cJSON_AddStringToObject(o, "outcome", outcome);
		orch_print_json(o, NULL);
		cJSON_Delete(o);
	} else if (!serve) {
		printf("%s\n", w.campaign);
	}
out:
	orch_daemon_free(srv);
	orch_store_close(store);
	fota_directive_clear(&d);
	orch_image_free(img);
	fota_signer_free(signer);
	devlist_free(&admit);
	devlist_free(&waitl);
	return ret;
}
