/* SPDX-License-Identifier: Apache-2.0 */
/* `device`: the registry of devices and their groups (status reports, CSV import, by hand). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fota/timeutil.h"
#include "fota/topics.h"

#include "cmd.h"
#include "config.h"
#include "device_cert.h"
#include "device_service.h"
#include "store.h"

/* One CSV line of the inventory; longer lines are an error, not truncated. */
#define CSV_MAX_LINE 2048

static const char device_usage[] =
    "Usage: fota-orchestrator device COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "  list [--group G]        registered devices (from their status reports and imports)\n"
    "  show ID                 one device\n"
    "  add ID --groups G1,G2 [--model M] [--hw H] [--version V] [--device-cert FILE]\n"
    "  import FILE.csv         inventory with a header line naming the columns:\n"
    "                          id (required), groups (separated by ';' or '|'), model, hw,\n"
    "                          version, cert (a PEM file, relative to the CSV's directory).\n"
    "                          Devices already known keep what the CSV leaves empty.\n"
    "\n"
    "--device-cert FILE (and the cert column) registers the device's own certificate (PEM):\n"
    "it must chain to [orchestrator] device_ca (default [broker] ca), be valid now, name the\n"
    "device id as its CN and hold an EC P-256 key. Content keys of encrypted images are\n"
    "wrapped to that key; a device without a certificate gets no encrypted image.\n"
    "\n"
    "add and import publish each device's new groups to it as a signed assignment, retained\n"
    "on its own topic (with the orchestrator key; without one the registry alone changes).\n"
    "\n";

enum { OPT_GROUP = 1, OPT_GROUPS, OPT_MODEL, OPT_HW, OPT_VERSION, OPT_DEVICE_CERT };

/* One line of `device list`'s table. */
static int list_one(void *ctx, const struct orch_device *d)
{
	char t[FOTA_TIME_STR_LEN];

	(void)ctx;
	if (d->last_seen)
		fota_time_format(d->last_seen, t);
	else
		snprintf(t, sizeof(t), "never");
	printf("%-24s %-7s %-12s %-6s %-12s %-20s %s\n", d->id, d->online ? "online" : "offline",
	       d->model, d->hw, d->version, t, d->groups);
	return 0;
}

/* After the registry committed: publishes each changed device's assignment; the exit code. */
static int publish_assignments(const struct orch_config *cfg, struct orch_store *st,
			       const struct orch_assign_list *l)
{
	struct fota_error err = {0};
	bool published = false;
	fota_err rc = orch_device_assignments_publish(cfg, st, l, "", !cfg->json, &published, &err);

	if (rc == FOTA_OK && !published && l->n)
		orch_log("no orchestrator key ([orchestrator] orchestrator_key): the registry "
			 "changed, no assignment was published");
	if (rc == FOTA_OK)
		return ORCH_EXIT_OK;
	orch_log("registry changed, but no assignment was published: %s (run the command again)",
		 err.msg);
	return rc == FOTA_ERR_FIELD  ? ORCH_EXIT_USAGE
	       : rc == FOTA_ERR_MQTT ? ORCH_EXIT_BROKER
				     : ORCH_EXIT_FAIL;
}

/* Splits a CSV line in place on commas (no quoting: ids and names never contain commas). */
static size_t split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		char *end = strchr(p, ',');

		fields[n++] = p;
		if (!end)
			break;
		*end = '\0';
		p = end + 1;
	}
	for (size_t i = 0; i < n; i++) {
		while (*fields[i] == ' ' || *fields[i] == '\t')
			fields[i]++;
		for (char *e = fields[i] + strlen(fields[i]);
		     e > fields[i] && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = '\0';
	}
	return n;
}

/* The certificate file a CSV line names, relative to the CSV's own directory, into pem. */
static fota_err read_csv_cert(const char *csv, const char *name, char *pem, size_t cap,
			      struct fota_error *err)
{
	char path[PATH_MAX];
	const char *slash = strrchr(csv, '/');
	int n = name[0] == '/' || !slash
		    ? snprintf(path, sizeof(path), "%s", name)
		    : snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - csv), csv, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "certificate path too long");
	return orch_device_cert_read(path, pem, cap, err);
}

static fota_err import_csv(struct orch_store *st, const char *path, const char *device_ca,
			   size_t *count, struct orch_assign_list *assigned, struct fota_error *err)
{
	enum { C_ID, C_GROUPS, C_MODEL, C_HW, C_VERSION, C_CERT, C__N };
	static const char *const names[C__N] = {"id", "groups", "model", "hw", "version", "cert"};
	static char pem[ORCH_MAX_DEVICE_CERT_PEM];
	int col[C__N];
	char line[CSV_MAX_LINE + 2];
	char *f[32];
	size_t n, i, lineno = 0;
	FILE *fp = fopen(path, "r");
	fota_err rc = FOTA_OK;

	*count = 0;
	if (!fp)
		return fota_error_set(err, FOTA_ERR_IO, "cannot open %s", path);
	for (i = 0; i < C__N; i++)
		col[i] = -1;
	if (!fgets(line, sizeof(line), fp)) {
		rc = fota_error_set(err, FOTA_ERR_PARSE, "%s: empty file", path);
		goto out;
	}
	lineno = 1;
	n = split(line, f, 32);
	for (i = 0; i < n; i++)
		for (size_t k = 0; k < C__N; k++)
			if (strcmp(f[i], names[k]) == 0 ||
			    (k == C_HW && strcmp(f[i], "hw_revision") == 0) ||
			    (k == C_ID && strcmp(f[i], "device") == 0))
				col[k] = (int)i;
	if (col[C_ID] < 0) {
		rc = fota_error_set(err, FOTA_ERR_PARSE, "%s: the header line names no 'id' column",
				    path);
		goto out;
	}
	rc = st->ops->begin(st, err);
	if (rc)
		goto out;
	while (fgets(line, sizeof(line), fp)) {
		struct orch_device d;

		lineno++;
		if (!strchr(line, '\n') && !feof(fp)) {
			rc = fota_error_set(err, FOTA_ERR_TOO_BIG, "%s:%zu: line over %d bytes",
					    path, lineno, CSV_MAX_LINE);
			break;
		}
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		n = split(line, f, 32);
		memset(&d, 0, sizeof(d));
#define FIELD(k) (col[k] >= 0 && (size_t)col[k] < n ? f[col[k]] : "")
		if (!fota_topic_segment_valid(FIELD(C_ID))) {
			rc = fota_error_set(err, FOTA_ERR_FIELD, "%s:%zu: '%s' is not a device id",
					    path, lineno, FIELD(C_ID));
			break;
		}
		snprintf(d.id, sizeof(d.id), "%s", FIELD(C_ID));
		snprintf(d.model, sizeof(d.model), "%s", FIELD(C_MODEL));
		snprintf(d.hw, sizeof(d.hw), "%s", FIELD(C_HW));
		snprintf(d.version, sizeof(d.version), "%s", FIELD(C_VERSION));
		rc = orch_device_groups_parse(FIELD(C_GROUPS), d.groups, sizeof(d.groups), err);
		if (rc == FOTA_OK && FIELD(C_CERT)[0])
			rc = read_csv_cert(path, FIELD(C_CERT), pem, sizeof(pem), err);
		if (rc == FOTA_OK)
			rc = orch_device_store(st, &d, d.groups[0] != '\0', assigned, err);
		if (rc == FOTA_OK && FIELD(C_CERT)[0])
			rc = orch_device_cert_register(st, d.id, pem, device_ca, fota_time_now(),
						       err);
#undef FIELD
		if (rc) {
			char where[PATH_MAX + 32];

			snprintf(where, sizeof(where), "%s:%zu", path, lineno);
			fota_error_prefix(err, where);
			break;
		}
		(*count)++;
	}
	if (rc == FOTA_OK)
		rc = st->ops->commit(st, err);
	else
		st->ops->rollback(st);
out:
	fclose(fp);
	return rc;
}

int orch_cmd_device(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"group", required_argument, NULL, OPT_GROUP},
	    {"groups", required_argument, NULL, OPT_GROUPS},
	    {"model", required_argument, NULL, OPT_MODEL},
	    {"hw", required_argument, NULL, OPT_HW},
	    {"version", required_argument, NULL, OPT_VERSION},
	    {"device-cert", required_argument, NULL, OPT_DEVICE_CERT},
	    ORCH_COMMON_LONGOPTS,
	};
	struct orch_config cfg;
	struct fota_error err = {0};
	struct orch_store *st = NULL;
	struct orch_device d;
	struct orch_assign_list assigned = {0};
	const char *sub = NULL, *arg = NULL, *group = NULL, *groups = NULL, *cert_file = NULL;
	static char pem[ORCH_MAX_DEVICE_CERT_PEM];
	char cert[128];
	int opt, ret = ORCH_EXIT_USAGE;

	memset(&d, 0, sizeof(d));
	orch_config_init(&cfg);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (orch_config_flag(&cfg, opt, optarg))
			continue;
		switch (opt) {
		case OPT_GROUP:
			group = optarg;
			break;
		case OPT_GROUPS:
			groups = optarg;
			break;
		case OPT_MODEL:
			snprintf(d.model, sizeof(d.model), "%s", optarg);
			break;
		case OPT_HW:
			snprintf(d.hw, sizeof(d.hw), "%s", optarg);
			break;
		case OPT_VERSION:
			snprintf(d.version, sizeof(d.version), "%s", optarg);
			break;
		case OPT_DEVICE_CERT:
			cert_file = optarg;
			break;
		default:
			fputs(device_usage, stderr);
			goto out;
		}
	}
	if (orch_cli_help(&cfg, device_usage)) {
		ret = ORCH_EXIT_OK;
		goto out;
	}
	if (optind < argc)
		sub = argv[optind++];
	if (optind < argc)
		arg = argv[optind++];
	if (!sub || optind != argc || (strcmp(sub, "list") != 0 && !arg)) {
		orch_log("device: need a command and its argument (try --help)");
		goto out;
	}
	if (orch_cli_load_config(&cfg, &err))
		goto out;
	ret = ORCH_EXIT_FAIL;
	if (orch_open_store(&cfg, &st, &err)) {
		orch_fail("device", &err);
		goto out;
	}
	if (strcmp(sub, "list") == 0 && cfg.json) {
		cJSON *arr = NULL;

		if (orch_devices_json(st, group, &arr, &err)) {
			orch_fail("device list", &err);
		} else {
			orch_print_json(arr, "[]");
			ret = ORCH_EXIT_OK;
		}
		cJSON_Delete(arr);
	} else if (strcmp(sub, "list") == 0) {
		printf("%-24s %-7s %-12s %-6s %-12s %-20s %s\n", "DEVICE", "ONLINE", "MODEL", "HW",
		       "VERSION", "LAST SEEN", "GROUPS");
		if (st->ops->device_each(st, group, list_one, NULL, &err))
			orch_fail("device list", &err);
		else
			ret = ORCH_EXIT_OK;
	} else if (strcmp(sub, "show") == 0) {
		if (st->ops->device_get(st, arg, &d, &err)) {
			orch_fail("device show", &err);
			ret = orch_exit_for(err.code);
			goto out;
		}
		if (cfg.json) {
			cJSON *o = orch_device_json(&d);

			orch_print_json(o, "{}");
			cJSON_Delete(o);
		} else {
			/* Whether content keys can be wrapped to it, and until when. */
			cert[0] = '\0';
			if (st->ops->device_cert_get(st, arg, pem, sizeof(pem), NULL) == FOTA_OK)
				orch_device_cert_describe(pem, cert, sizeof(cert), NULL);
			list_one(NULL, &d);
			printf("certificate: %s\n", cert[0] ? cert : "none");
		}
		ret = ORCH_EXIT_OK;
	} else if (strcmp(sub, "add") == 0) {
		snprintf(d.id, sizeof(d.id), "%s", arg);
		if (cert_file && orch_device_cert_read(cert_file, pem, sizeof(pem), &err)) {
			orch_fail("device add", &err);
			goto out;
		}
		if (strlen(arg) >= sizeof(d.id) ||
		    orch_device_add(st, &d, groups, cert_file ? pem : NULL,
				    orch_config_device_ca(&cfg), &assigned, &err)) {
			if (strlen(arg) >= sizeof(d.id) || !fota_topic_segment_valid(d.id)) {
				orch_log("device add: '%s' is not a device id", arg);
				ret = ORCH_EXIT_USAGE;
			} else {
				orch_fail("device add", &err);
			}
			goto out;
		}
		ret = publish_assignments(&cfg, st, &assigned);
	} else if (strcmp(sub, "import") == 0) {
		size_t n = 0;

		if (import_csv(st, arg, orch_config_device_ca(&cfg), &n, &assigned, &err)) {
			orch_fail("device import", &err);
			goto out;
		}
		if (cfg.json)
			printf("{\"imported\":%zu}\n", n);
		else
			printf("%zu devices imported\n", n);
		ret = publish_assignments(&cfg, st, &assigned);
	} else {
		orch_log("device: unknown command '%s' (try --help)", sub);
		ret = ORCH_EXIT_USAGE;
	}
out:
	orch_assign_list_free(&assigned);
	orch_store_close(st);
	return ret;
}
