/* SPDX-License-Identifier: Apache-2.0 */
/* `image add|sign|import|list`: sign images' manifests, put signed images into the store and
 * show what it holds. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "fota/atomic_file.h"
#include "fota/envelope.h"
#include "fota/manifest.h"
#include "fota/signer.h"
#include "fota/timeutil.h"
#include "fota/trust.h"

#include "cmd.h"
#include "config.h"
#include "image_compress.h"
#include "image_service.h"
#include "image_delta.h"
#include "image_seal.h"
#include "image_store.h"

#define DEFAULT_EXPIRES_DAYS 30u
#define MAX_EXPIRES_DAYS 3650u
#define DEFAULT_CONFIRM_TIMEOUT_S 300u

/* The manifest options `image add` and `image sign` share. */
#define MANIFEST_OPTIONS_HELP                                                                      \
	"  --name N               image name\n"                                                    \
	"  --version V            image version\n"                                                 \
	"  --vendor X             target vendor\n"                                                 \
	"  --model M              target model\n"                                                  \
	"  --hw R                 accepted hardware revision (repeatable; none = any)\n"           \
	"  --accepts V            accepted current version (repeatable; none = any)\n"             \
	"  --sequence N           anti-rollback sequence, must rise with every release\n"          \
	"  --expires-in-days D    manifest lifetime (default 30)\n"                                \
	"  --chunk-size BYTES     chunk payload size, 1024..1048576 (default 65536)\n"             \
	"  --method M             install method: file, ab-slot or script (default file)\n"        \
	"  --param K=V            install parameter (repeatable)\n"                                \
	"  --reboot               the install needs a reboot\n"                                    \
	"  --confirm-timeout S    seconds the new image has to confirm itself (default 300)\n"     \
	"  --allow-downgrade      let devices install this over a higher sequence\n"

static const char add_usage[] =
    "Usage: fota-orchestrator image add FILE --name N --version V --vendor X --model M\n"
    "         --sequence N --release-key PEM [OPTIONS]\n"
    "\n"
    "Copies FILE into the store, builds its chunk hash table and SHA-256, writes a manifest\n"
    "signed with the release key and prints the image id (16 hex digits).\n"
    "\n"
    "  --compress zstd[:L]    store FILE compressed with zstd at level L (1..22, default 19,\n"
    "                         window at most 8 MiB): devices receive the compressed payload\n"
    "                         and install FILE\n"
    "  --delta-from ID        also store a delta payload from the stored image ID to FILE\n"
    "                         (zstd-compressed), offered in the same manifest as\n"
    "                         image.delta: devices running ID fetch it instead of the full\n"
    "                         payload\n"
    "  --encrypt              seal every chunk of the payload (and of the delta payload)\n"
    "                         with a fresh content key (AES-256-GCM), kept 0600 beside the\n"
    "                         image; campaigns wrap it to each admitted device's registered\n"
    "                         certificate. The manifest says "
    "image.encryption.\n" MANIFEST_OPTIONS_HELP "\n";

static const char sign_usage[] =
    "Usage: fota-orchestrator image sign FILE --name N --version V --vendor X --model M\n"
    "         --sequence N --release-key PEM --out SIGNED.jws [OPTIONS]\n"
    "\n"
    "Signs a manifest for FILE without a state directory, for a release key kept on an\n"
    "offline machine: builds FILE's chunk hash table and SHA-256, writes the manifest signed\n"
    "with the release key to --out and prints the image id. Take FILE and the manifest to\n"
    "the orchestrator host and store them there with 'image import'.\n"
    "\n"
    "  --out FILE             where the signed manifest (JWS JSON) is written\n"
    "  --compress zstd[:L]    compress FILE with zstd (as image add) into the new file\n"
    "                         --payload-out P, the payload to import\n"
    "  --payload-out P        where the compressed payload is written\n"
    "  --delta-from BASE      also make a delta payload from the image file BASE to FILE\n"
    "                         into the new file --delta-out D, offered in the manifest as\n"
    "                         image.delta; import it with 'image import --delta D'\n"
    "  --delta-out D          where the delta payload is written\n"
    "  --encrypt              sign image.encryption into the manifest: the payload (and the\n"
    "                         delta payload) must travel sealed. No key is made here:\n"
    "                         'image import' makes the content key on the orchestrator host\n"
    "                         and seals the chunks as image add --encrypt "
    "does\n" MANIFEST_OPTIONS_HELP "\n";

static const char import_usage[] =
    "Usage: fota-orchestrator image import FILE --manifest SIGNED.jws --trust DIR [OPTIONS]\n"
    "\n"
    "Stores an image whose manifest was signed elsewhere (offline release key). The manifest\n"
    "must verify with the release role of the trust store, and FILE must match its size,\n"
    "SHA-256 and chunk table digest. A manifest with image.encryption (image sign\n"
    "--encrypt) gets a fresh content key here, kept 0600 beside the image, and its payloads\n"
    "are stored sealed, as image add --encrypt stores them; imported again, the image keeps\n"
    "its key, which devices may have been given.\n"
    "\n"
    "  --manifest FILE        the signed manifest (JWS JSON)\n"
    "  --delta FILE           the delta payload the manifest offers (image.delta), checked\n"
    "                         and stored with the image\n"
    "  --trust DIR            trust store (release/ and orchestrator/ key directories, or a\n"
    "                         JWK Set file)\n"
    "\n";

static const char list_usage[] = "Usage: fota-orchestrator image list [--json] [OPTIONS]\n"
				 "\n"
				 "Lists the stored images.\n"
				 "\n";

static const char show_usage[] = "Usage: fota-orchestrator image show ID [--json] [OPTIONS]\n"
				 "\n"
				 "Shows one stored image by its id (16 hex digits).\n"
				 "\n";

static const char image_usage[] =
    "Usage: fota-orchestrator image add|sign|import|list|show [--help]\n";

enum {
	OPT_NAME = 1,
	OPT_VERSION,
	OPT_VENDOR,
	OPT_MODEL,
	OPT_HW,
	OPT_ACCEPTS,
	OPT_SEQUENCE,
	OPT_EXPIRES,
	OPT_CHUNK_SIZE,
	OPT_METHOD,
	OPT_PARAM,
	OPT_REBOOT,
	OPT_CONFIRM,
	OPT_DOWNGRADE,
	OPT_MANIFEST,
	OPT_TRUST,
	OPT_OUT,
	OPT_COMPRESS,
	OPT_DELTA_FROM,
	OPT_PAYLOAD_OUT,
	OPT_DELTA_OUT,
	OPT_DELTA,
	OPT_ENCRYPT,
};

/* clang-format off */
#define MANIFEST_LONGOPTS \
	{"name", required_argument, NULL, OPT_NAME}, \
	{"version", required_argument, NULL, OPT_VERSION}, \
	{"vendor", required_argument, NULL, OPT_VENDOR}, \
	{"model", required_argument, NULL, OPT_MODEL}, \
	{"hw", required_argument, NULL, OPT_HW}, \
	{"accepts", required_argument, NULL, OPT_ACCEPTS}, \
	{"sequence", required_argument, NULL, OPT_SEQUENCE}, \
	{"expires-in-days", required_argument, NULL, OPT_EXPIRES}, \
	{"chunk-size", required_argument, NULL, OPT_CHUNK_SIZE}, \
	{"method", required_argument, NULL, OPT_METHOD}, \
	{"param", required_argument, NULL, OPT_PARAM}, \
	{"reboot", no_argument, NULL, OPT_REBOOT}, \
	{"confirm-timeout", required_argument, NULL, OPT_CONFIRM}, \
	{"allow-downgrade", no_argument, NULL, OPT_DOWNGRADE}
/* clang-format on */

/* A manifest being built from the command line of `image add` or `image sign`. */
struct manifest_opts {
	struct fota_manifest *m;
	uint64_t days;
	uint64_t chunk_size;
	bool have_seq;
};

static int usage_error(const char *usage, const char *what)
{
	orch_log("%s", what);
	fputs(usage, stderr);
	return ORCH_EXIT_USAGE;
}

static fota_err copy_field(char *dst, size_t size, const char *what, const char *value,
			   struct fota_error *err)
{
	if (!value || !*value)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s is empty", what);
	if (strlen(value) >= size)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "%s '%s' is longer than %zu", what,
				      value, size - 1);
	memcpy(dst, value, strlen(value) + 1);
	return FOTA_OK;
}

/* Prints and frees o. */
static int print_json(cJSON *o)
{
	char *text = o ? cJSON_Print(o) : NULL;

	cJSON_Delete(o);
	if (!text) {
		orch_log("print JSON: out of memory");
		return ORCH_EXIT_FAIL;
	}
	printf("%s\n", text);
	free(text);
	return ORCH_EXIT_OK;
}

static fota_err parse_method(const char *s, enum fota_install_method *out, struct fota_error *err)
{
	if (strcmp(s, "file") == 0)
		*out = FOTA_INSTALL_FILE;
	else if (strcmp(s, "ab-slot") == 0)
		*out = FOTA_INSTALL_AB_SLOT;
	else if (strcmp(s, "script") == 0)
		*out = FOTA_INSTALL_SCRIPT;
	else
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "--method '%s' is not file, ab-slot or script", s);
	return FOTA_OK;
}

static fota_err add_param(struct fota_manifest *m, const char *kv, struct fota_error *err)
{
	const char *eq = strchr(kv, '=');
	struct fota_param *p;
	size_t klen;

	if (!eq || eq == kv)
		return fota_error_set(err, FOTA_ERR_FIELD, "--param '%s' is not KEY=VALUE", kv);
	if (m->n_install_params == FOTA_MAX_PARAMS)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "more than %d --param",
				      FOTA_MAX_PARAMS);
	klen = (size_t)(eq - kv);
	if (klen > FOTA_MAX_NAME_LEN || strlen(eq + 1) > FOTA_MAX_PARAM_LEN)
		return fota_error_set(err, FOTA_ERR_TOO_BIG,
				      "--param '%s': key over %d or value over %d characters", kv,
				      FOTA_MAX_NAME_LEN, FOTA_MAX_PARAM_LEN);
	p = &m->install_params[m->n_install_params++];
	memcpy(p->key, kv, klen);
	p->key[klen] = '\0';
	memcpy(p->value, eq + 1, strlen(eq + 1) + 1);
	return FOTA_OK;
}

static fota_err add_list_item(char (*list)[FOTA_MAX_VERSION_LEN + 1], size_t *n, const char *what,
			      const char *value, struct fota_error *err)
{
	if (*n == FOTA_MAX_LIST_ITEMS)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "more than %d %s", FOTA_MAX_LIST_ITEMS,
				      what);
	if (copy_field(list[*n], FOTA_MAX_VERSION_LEN + 1, what, value, err))
		return err->code;
	(*n)++;
	return FOTA_OK;
}

static fota_err manifest_opts_init(struct manifest_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->m = calloc(1, sizeof(*o->m));
	if (!o->m)
		return FOTA_ERR_NOMEM;
	o->days = DEFAULT_EXPIRES_DAYS;
	o->chunk_size = ORCH_DEFAULT_CHUNK_SIZE;
	o->m->confirm_timeout_s = DEFAULT_CONFIRM_TIMEOUT_S;
	o->m->install_method = FOTA_INSTALL_FILE;
	o->m->compression = FOTA_COMPRESSION_NONE;
	return FOTA_OK;
}

/* Applies one of MANIFEST_LONGOPTS; false when opt is not one of them. *rc: whether the
 * value was good (err says why not). */
static bool manifest_option(struct manifest_opts *o, int opt, const char *arg, fota_err *rc,
			    struct fota_error *err)
{
	struct fota_manifest *m = o->m;
	uint64_t v;

	*rc = FOTA_OK;
	switch (opt) {
	case OPT_NAME:
		*rc = copy_field(m->name, sizeof(m->name), "--name", arg, err);
		break;
	case OPT_VERSION:
		*rc = copy_field(m->version, sizeof(m->version), "--version", arg, err);
		break;
	case OPT_VENDOR:
		*rc = copy_field(m->vendor, sizeof(m->vendor), "--vendor", arg, err);
		break;
	case OPT_MODEL:
		*rc = copy_field(m->model, sizeof(m->model), "--model", arg, err);
		break;
	case OPT_HW:
		*rc = add_list_item(m->hw_revisions, &m->n_hw_revisions, "--hw", arg, err);
		break;
	case OPT_ACCEPTS:
		*rc = add_list_item(m->accepts_versions, &m->n_accepts_versions, "--accepts", arg,
				    err);
		break;
	case OPT_SEQUENCE:
		*rc = orch_parse_u64("--sequence", arg, 0, INT64_MAX, &m->sequence, err);
		o->have_seq = true;
		break;
	case OPT_EXPIRES:
		*rc = orch_parse_u64("--expires-in-days", arg, 1, MAX_EXPIRES_DAYS, &o->days, err);
		break;
	case OPT_CHUNK_SIZE:
		*rc = orch_parse_size(arg, &o->chunk_size, err);
		if (*rc == FOTA_OK &&
		    (o->chunk_size < FOTA_MIN_CHUNK_SIZE || o->chunk_size > FOTA_MAX_CHUNK_SIZE))
			*rc =
			    fota_error_set(err, FOTA_ERR_FIELD, "--chunk-size %s is outside %u..%u",
					   arg, FOTA_MIN_CHUNK_SIZE, FOTA_MAX_CHUNK_SIZE);
		break;
	case OPT_METHOD:
		*rc = parse_method(arg, &m->install_method, err);
		break;
	case OPT_PARAM:
		*rc = add_param(m, arg, err);
		break;
	case OPT_REBOOT:
		m->reboot = true;
		break;
	case OPT_CONFIRM:
		*rc = orch_parse_u64("--confirm-timeout", arg, 0, UINT32_MAX, &v, err);
		m->confirm_timeout_s = (uint32_t)v;
		break;
	case OPT_DOWNGRADE:
		m->allow_downgrade = true;
		break;
	default:
		return false;
	}
	return true;
}

/* NULL when every required manifest option and the release key are there, else what is
 * missing. */
static const char *manifest_missing(const struct manifest_opts *o, const struct orch_config *cfg)
{
	const struct fota_manifest *m = o->m;

	if (!m->name[0] || !m->version[0] || !m->vendor[0] || !m->model[0] || !o->have_seq)
		return "--name, --version, --vendor, --model and --sequence are required";
	if (!cfg->release_key[0])
		return "no release key (--release-key or [orchestrator] release_key)";
	return NULL;
}

/* Completes the manifest for an image of size bytes, sha256 and table, and signs it with the
 * release key: *jws (malloc'd) and the SHA-256 of the signed payload. */
static fota_err manifest_sign(struct manifest_opts *o, struct fota_signer *signer, uint64_t size,
			      const uint8_t sha256[FOTA_SHA256_LEN],
			      const struct fota_chunk_table *table, char **jws,
			      uint8_t manifest_sha[FOTA_SHA256_LEN], struct fota_error *err)
{
	struct fota_manifest *m = o->m;
	char *payload = NULL;
	fota_err rc;

	*jws = NULL;
	m->created = fota_time_now();
	m->expires = m->created + (int64_t)o->days * 86400;
	m->size = size;
	memcpy(m->sha256, sha256, FOTA_SHA256_LEN);
	m->chunk_size = (uint32_t)o->chunk_size;
	m->chunk_count = table->count;
	fota_chunk_table_digest(table, m->table_sha256);
	rc = fota_manifest_to_json(m, &payload, err);
	if (rc)
		return fota_error_prefix(err, "build manifest");
	fota_sha256(payload, strlen(payload), manifest_sha);
	rc = fota_envelope_sign(&signer, 1, (const uint8_t *)payload, strlen(payload), 0, jws, err);
	free(payload);
	if (rc)
		return fota_error_prefix(err, "sign manifest");
	if (strlen(*jws) > FOTA_MAX_ENVELOPE_BYTES) {
		rc =
		    fota_error_set(err, FOTA_ERR_TOO_BIG,
				   "sign manifest: envelope of %zu bytes exceeds the %d-byte limit",
				   strlen(*jws), FOTA_MAX_ENVELOPE_BYTES);
		free(*jws);
		*jws = NULL;
	}
	return rc;
}

/* Prints the image id, or with --json the image's summary. */
static int print_image(const struct orch_config *cfg, const char *id, const struct fota_manifest *m,
		       const uint8_t manifest_sha[FOTA_SHA256_LEN])
{
	if (cfg->json)
		return print_json(orch_image_json(id, m, manifest_sha));
	printf("%s\n", id);
	return ORCH_EXIT_OK;
}

/* --compress: FILE compressed into a temporary file of the state dir (*payload), which the
 * store then copies; the manifest names FILE as the image the payload decodes to. */
static fota_err compress_payload(const struct orch_config *cfg, struct fota_manifest *m,
				 const char *file, int level, char *payload, size_t len,
				 struct fota_error *err)
{
	fota_err rc = orch_state_path(cfg, payload, len, err, "image-add.%ld.zst", (long)getpid());

	if (rc == FOTA_OK)
		rc = fota_mkdirs(cfg->state_dir, 0700, err);
	if (rc != FOTA_OK)
		return rc;
	unlink(payload); /* a leftover of an earlier run with the same pid */
	rc = orch_compress_zstd(file, payload, level, &m->decoded_size, m->decoded_sha256, err);
	if (rc != FOTA_OK)
		return rc;
	m->compression = FOTA_COMPRESSION_ZSTD;
	return FOTA_OK;
}

/* --delta-from: the delta payload from the stored image old_id to FILE, made into a temporary
 * file of the state dir (*path) and staged (*out); the manifest offers it as image.delta. */
static fota_err delta_payload(const struct orch_config *cfg, struct manifest_opts *mo,
			      const char *old_id, const char *file, char *path, size_t len,
			      struct orch_stage **out, struct fota_error *err)
{
	struct fota_manifest_delta *d = &mo->m->delta;
	fota_err rc = orch_state_path(cfg, path, len, err, "image-add.%ld.delta", (long)getpid());

	if (rc == FOTA_OK)
		rc = fota_mkdirs(cfg->state_dir, 0700, err);
	if (rc != FOTA_OK)
		return rc;
	unlink(path); /* a leftover of an earlier run with the same pid */
	rc = orch_delta_payload(cfg, old_id, file, path, d, err);
	if (rc == FOTA_OK)
		rc = orch_stage_new(cfg, path, (uint32_t)mo->chunk_size, out, err);
	if (rc != FOTA_OK)
		return rc;
	mo->m->has_delta = true;
	d->size = (*out)->size;
	memcpy(d->sha256, (*out)->sha256, FOTA_SHA256_LEN);
	d->chunk_count = (*out)->table.count;
	fota_chunk_table_digest(&(*out)->table, d->table_sha256);
	return FOTA_OK;
}

static int image_add(int argc, char **argv)
{
	static const struct option longopts[] = {
	    MANIFEST_LONGOPTS,
	    {"compress", required_argument, NULL, OPT_COMPRESS},
	    {"delta-from", required_argument, NULL, OPT_DELTA_FROM},
	    {"encrypt", no_argument, NULL, OPT_ENCRYPT},
	    ORCH_COMMON_LONGOPTS};
	char payload[PATH_MAX] = "", delta[PATH_MAX] = "";
	bool encrypt = false;
	const char *delta_from = NULL;
	struct orch_stage *dst = NULL;
	int level = 0;
	struct orch_config cfg;
	struct manifest_opts mo;
	struct fota_error err = {0};
	struct fota_signer *signer = NULL;
	struct orch_stage *st = NULL;
	char *jws = NULL;
	char id[FOTA_IMAGE_ID_HEX_LEN + 1], delta_id[FOTA_IMAGE_ID_HEX_LEN + 1];
	uint8_t manifest_sha[FOTA_SHA256_LEN];
	const char *file, *missing;
	int opt, ret = ORCH_EXIT_USAGE;

	orch_config_init(&cfg);
	if (manifest_opts_init(&mo)) {
		orch_log("image add: out of memory");
		return ORCH_EXIT_FAIL;
	}
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		fota_err rc = FOTA_OK;

		if (orch_config_flag(&cfg, opt, optarg))
			continue;
		if (opt == OPT_COMPRESS)
			rc = orch_compress_parse(optarg, &level, &err);
		else if (opt == OPT_DELTA_FROM)
			delta_from = optarg;
		else if (opt == OPT_ENCRYPT)
			encrypt = true;
		else if (!manifest_option(&mo, opt, optarg, &rc, &err)) {
			fputs(add_usage, stderr);
			goto out;
		}
		if (rc) {
			orch_fail("image add", &err);
			goto out;
		}
	}
	if (orch_cli_help(&cfg, add_usage)) {
		ret = ORCH_EXIT_OK;
		goto out;
	}
	if (optind + 1 != argc) {
		ret = usage_error(add_usage, "image add: expected exactly one FILE");
		goto out;
	}
	file = argv[optind];
	if (orch_cli_load_config(&cfg, &err))
		goto out;
	if ((missing = manifest_missing(&mo, &cfg))) {
		orch_log("image add: %s", missing);
		fputs(add_usage, stderr);
		goto out;
	}

	ret = ORCH_EXIT_FAIL;
	/* Load the key before the (possibly long) copy so a typo fails fast. */
	if (fota_signer_load(cfg.release_key, NULL, &signer, &err)) {
		orch_fail("load release key", &err);
		ret = ORCH_EXIT_USAGE;
		goto out;
	}
	if (delta_from) {
		if (delta_payload(&cfg, &mo, delta_from, file, delta, sizeof(delta), &dst, &err) ||
		    orch_stop) {
			if (!orch_stop)
				orch_fail("image add --delta-from", &err);
			ret = orch_stop ? ORCH_EXIT_INTERRUPTED : ORCH_EXIT_FAIL;
			goto out;
		}
		orch_log("image add: delta payload from %s: %llu bytes", delta_from,
			 (unsigned long long)mo.m->delta.size);
	}
	if (level > 0) {
		if (compress_payload(&cfg, mo.m, file, level, payload, sizeof(payload), &err)) {
			orch_fail("image add --compress", &err);
			goto out;
		}
		orch_log("image add: %llu bytes compressed with zstd level %d",
			 (unsigned long long)mo.m->decoded_size, level);
		file = payload;
	}
	if (orch_stage_new(&cfg, file, (uint32_t)mo.chunk_size, &st, &err) || orch_stop) {
		if (orch_stop) {
			orch_log("image add: interrupted; nothing was stored");
			ret = ORCH_EXIT_INTERRUPTED;
		} else {
			orch_fail("image add", &err);
		}
		goto out;
	}
	if (encrypt) {
		if (orch_stages_seal(st, dst, &err)) {
			orch_fail("image add --encrypt", &err);
			goto out;
		}
		mo.m->encryption = FOTA_ENCRYPTION_A256GCM_CHUNK;
	}
	if (manifest_sign(&mo, signer, st->size, st->sha256, &st->table, &jws, manifest_sha,
			  &err)) {
		orch_fail("image add", &err);
		goto out;
	}
	/* The delta first: a stored image whose manifest offers a delta has it in the store. */
	if (dst && orch_stage_commit(dst, jws, strlen(jws), delta_id, &err)) {
		orch_fail("store delta payload", &err);
		goto out;
	}
	if (orch_stage_commit(st, jws, strlen(jws), id, &err)) {
		orch_fail("store image", &err);
		goto out;
	}
	if (st->replaced)
		orch_log("image %s was stored already; its manifest is replaced by this one", id);
	ret = print_image(&cfg, id, mo.m, manifest_sha);
out:
	if (payload[0])
		unlink(payload);
	if (delta[0])
		unlink(delta);
	free(jws);
	fota_signer_free(signer);
	orch_stage_free(st);
	orch_stage_free(dst);
	free(mo.m);
	return ret;
}

/* image sign --delta-out: the delta payload's size, digest and chunk table into the manifest. */
static fota_err sign_delta_table(struct manifest_opts *mo, const char *path, struct fota_error *err)
{
	struct fota_manifest_delta *d = &mo->m->delta;
	struct fota_chunk_table table = {0};
	fota_err rc = fota_chunk_table_build_file(path, (uint32_t)mo->chunk_size, &table, d->sha256,
						  &d->size, err);

	if (rc == FOTA_OK) {
		mo->m->has_delta = true;
		d->chunk_count = table.count;
		fota_chunk_table_digest(&table, d->table_sha256);
	}
	fota_chunk_table_clear(&table);
	return rc;
}

/* What `image import` checks of a staged payload against its manifest (or delta view). */
static bool stage_matches(const struct orch_stage *st, const struct fota_manifest *m,
			  const char *file)
{
	uint8_t digest[FOTA_SHA256_LEN];

	fota_chunk_table_digest(&st->table, digest);
	if (st->size != m->size) {
		orch_log("image import: %s has %llu bytes, the manifest says %llu", file,
			 (unsigned long long)st->size, (unsigned long long)m->size);
		return false;
	}
	if (!fota_digest_equal(st->sha256, m->sha256, FOTA_SHA256_LEN)) {
		orch_log("image import: SHA-256 of %s differs from the manifest's", file);
		return false;
	}
	if (st->table.count != m->chunk_count ||
	    !fota_digest_equal(digest, m->table_sha256, FOTA_SHA256_LEN)) {
		orch_log("image import: chunk table of %s differs from the manifest's", file);
		return false;
	}
	return true;
}

/* `image sign`: the manifest of `image add`, for FILE as it is, into a file; no store. */
static int image_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
	    MANIFEST_LONGOPTS,
	    {"out", required_argument, NULL, OPT_OUT},
	    {"compress", required_argument, NULL, OPT_COMPRESS},
	    {"payload-out", required_argument, NULL, OPT_PAYLOAD_OUT},
	    {"delta-from", required_argument, NULL, OPT_DELTA_FROM},
	    {"delta-out", required_argument, NULL, OPT_DELTA_OUT},
	    {"encrypt", no_argument, NULL, OPT_ENCRYPT},
	    ORCH_COMMON_LONGOPTS};
	const char *payload_out = NULL, *delta_from = NULL, *delta_out = NULL;
	bool wrote_payload = false, wrote_delta = false;
	int level = 0;
	struct orch_config cfg;
	struct manifest_opts mo;
	struct fota_error err = {0};
	struct fota_signer *signer = NULL;
	struct fota_chunk_table table = {0};
	uint8_t sha256[FOTA_SHA256_LEN], manifest_sha[FOTA_SHA256_LEN];
	char id[FOTA_IMAGE_ID_HEX_LEN + 1];
	char *jws = NULL;
	const char *file, *out_path = NULL, *missing;
	uint64_t size = 0;
	int opt, fd = -1, ret = ORCH_EXIT_USAGE;

	orch_config_init(&cfg);
	if (manifest_opts_init(&mo)) {
		orch_log("image sign: out of memory");
		return ORCH_EXIT_FAIL;
	}
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		fota_err rc = FOTA_OK;

		if (orch_config_flag(&cfg, opt, optarg))
			continue;
		if (opt == OPT_OUT) {
			out_path = optarg;
			continue;
		}
		if (opt == OPT_PAYLOAD_OUT || opt == OPT_DELTA_FROM || opt == OPT_DELTA_OUT) {
			*(opt == OPT_PAYLOAD_OUT  ? &payload_out
			  : opt == OPT_DELTA_FROM ? &delta_from
						  : &delta_out) = optarg;
			continue;
		}
		if (opt == OPT_ENCRYPT) {
			/* Only the promise is signed here; the key is made where it is imported. */
			mo.m->encryption = FOTA_ENCRYPTION_A256GCM_CHUNK;
			continue;
		}
		if (opt == OPT_COMPRESS)
			rc = orch_compress_parse(optarg, &level, &err);
		else if (!manifest_option(&mo, opt, optarg, &rc, &err)) {
			fputs(sign_usage, stderr);
			goto out;
		}
		if (rc) {
			orch_fail("image sign", &err);
			goto out;
		}
	}
	if (orch_cli_help(&cfg, sign_usage)) {
		ret = ORCH_EXIT_OK;
		goto out;
	}
	if (optind + 1 != argc || !out_path) {
		ret = usage_error(sign_usage, "image sign: need FILE and --out");
		goto out;
	}
	if ((level > 0) != (payload_out != NULL)) {
		ret =
		    usage_error(sign_usage, "image sign: --compress and --payload-out go together");
		goto out;
	}
	if ((delta_from != NULL) != (delta_out != NULL)) {
		ret =
		    usage_error(sign_usage, "image sign: --delta-from and --delta-out go together");
		goto out;
	}
	file = argv[optind];
	cfg.stateless = true; /* signs a file, writes no state */
	if (orch_cli_load_config(&cfg, &err))
		goto out;
	if ((missing = manifest_missing(&mo, &cfg))) {
		orch_log("image sign: %s", missing);
		fputs(sign_usage, stderr);
		goto out;
	}
	if (fota_signer_load(cfg.release_key, NULL, &signer, &err)) {
		orch_fail("load release key", &err);
		goto out;
	}

	ret = ORCH_EXIT_FAIL;
	if (delta_from) {
		wrote_delta = true;
		if (orch_delta_payload_file(delta_from, file, delta_out, &mo.m->delta, &err) ||
		    sign_delta_table(&mo, delta_out, &err)) {
			orch_fail("image sign --delta-from", &err);
			goto out;
		}
	}
	if (level > 0) {
		wrote_payload = true;
		if (orch_compress_zstd(file, payload_out, level, &mo.m->decoded_size,
				       mo.m->decoded_sha256, &err)) {
			orch_fail("image sign --compress", &err);
			goto out;
		}
		mo.m->compression = FOTA_COMPRESSION_ZSTD;
		file = payload_out;
	}
	if (orch_image_source_open(file, (uint32_t)mo.chunk_size, &fd, &err) ||
	    fota_chunk_table_build_file(file, (uint32_t)mo.chunk_size, &table, sha256, &size,
					&err)) {
		orch_fail("image sign", &err);
		goto out;
	}
	if (size == 0 || size > FOTA_MAX_IMAGE_SIZE ||
	    table.count != fota_chunk_count_for(size, (uint32_t)mo.chunk_size)) {
		orch_log("image sign: %s changed while it was read", file);
		goto out;
	}
	if (manifest_sign(&mo, signer, size, sha256, &table, &jws, manifest_sha, &err)) {
		orch_fail("image sign", &err);
		goto out;
	}
	if (fota_atomic_write(out_path, jws, strlen(jws), 0644, &err)) {
		orch_fail("image sign: write manifest", &err);
		goto out;
	}
	/* The id `image import` will give it: the first bytes of the image SHA-256. */
	fota_hex_encode(sha256, FOTA_IMAGE_ID_LEN, id);
	ret = print_image(&cfg, id, mo.m, manifest_sha);
	wrote_payload = wrote_delta = false; /* kept: they go with the manifest */
out:
	if (wrote_payload)
		unlink(payload_out);
	if (wrote_delta)
		unlink(delta_out);
	if (fd >= 0)
		close(fd);
	fota_chunk_table_clear(&table);
	free(jws);
	fota_signer_free(signer);
	free(mo.m);
	return ret;
}

static int image_import(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"manifest", required_argument, NULL, OPT_MANIFEST},
	    {"trust", required_argument, NULL, OPT_TRUST},
	    {"delta", required_argument, NULL, OPT_DELTA},
	    ORCH_COMMON_LONGOPTS,
	};
	const char *delta_path = NULL;
	struct orch_stage *dst = NULL;
	struct fota_manifest view;
	struct orch_config cfg;
	struct fota_manifest *m = NULL;
	struct fota_error err = {0};
	struct fota_trust *trust = NULL;
	struct orch_stage *st = NULL;
	uint8_t *jws = NULL, *payload = NULL;
	size_t jws_len = 0, payload_len = 0;
	const char *manifest_path = NULL, *trust_path = NULL, *file;
	char id[FOTA_IMAGE_ID_HEX_LEN + 1];
	char t[FOTA_TIME_STR_LEN];
	uint8_t digest[FOTA_SHA256_LEN];
	uint8_t key[FOTA_CONTENT_KEY_LEN];
	bool kept_key = false;
	fota_err rc;
	int opt, ret = ORCH_EXIT_USAGE;

	orch_config_init(&cfg);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (orch_config_flag(&cfg, opt, optarg))
			continue;
		switch (opt) {
		case OPT_MANIFEST:
			manifest_path = optarg;
			break;
		case OPT_TRUST:
			trust_path = optarg;
			break;
		case OPT_DELTA:
			delta_path = optarg;
			break;
		default:
			fputs(import_usage, stderr);
			return ORCH_EXIT_USAGE;
		}
	}
	if (orch_cli_help(&cfg, import_usage))
		return ORCH_EXIT_OK;
	if (optind + 1 != argc || !manifest_path || !trust_path)
		return usage_error(import_usage, "image import: need FILE, --manifest and --trust");
	file = argv[optind];
	if (orch_cli_load_config(&cfg, &err))
		return ORCH_EXIT_USAGE;

	ret = ORCH_EXIT_FAIL;
	m = calloc(1, sizeof(*m));
	trust = fota_trust_new();
	if (!m || !trust) {
		orch_log("image import: out of memory");
		goto out;
	}
	if (fota_trust_load(trust, trust_path, &err)) {
		orch_fail("load trust store", &err);
		ret = ORCH_EXIT_USAGE;
		goto out;
	}
	if (fota_read_file(manifest_path, FOTA_MAX_ENVELOPE_BYTES, &jws, &jws_len, &err)) {
		orch_fail("read manifest", &err);
		goto out;
	}
	if (fota_envelope_verify(trust, FOTA_ROLE_RELEASE, (const char *)jws, jws_len,
				 FOTA_MAX_ENVELOPE_BYTES, &payload, &payload_len, &err)) {
		orch_fail("verify manifest", &err);
		goto out;
	}
	if (fota_manifest_parse(payload, payload_len, m, &err)) {
		orch_fail("parse manifest", &err);
		goto out;
	}
	if (m->expires <= fota_time_now()) {
		fota_time_format(m->expires, t);
		orch_log("import manifest: it expired at %s", t);
		goto out;
	}
	if (delta_path && !m->has_delta) {
		orch_log("image import: --delta %s, but the manifest offers no delta", delta_path);
		goto out;
	}
	if (m->has_delta && !delta_path)
		orch_log("image import: the manifest offers a delta, and no --delta was given: "
			 "devices running its base will fall back to the full payload");
	if (delta_path) {
		fota_manifest_delta_view(m, &view);
		if (orch_stage_new(&cfg, delta_path, m->chunk_size, &dst, &err)) {
			orch_fail("image import --delta", &err);
			goto out;
		}
		if (!stage_matches(dst, &view, delta_path))
			goto out;
	}
	if (orch_stage_new(&cfg, file, m->chunk_size, &st, &err)) {
		orch_fail("image import", &err);
		goto out;
	}
	if (!stage_matches(st, m, file))
		goto out;
	/* The release key signed that this image travels sealed: it is stored sealed or not at
	 * all. The tables stay the plaintext's, so the signed manifest still describes it. */
	if (m->encryption != FOTA_ENCRYPTION_NONE) {
		if (orch_import_content_key(&cfg, m, key, &kept_key, &err)) {
			orch_log("image import: %s; nothing was stored", err.msg);
			goto out;
		}
		rc = orch_stages_seal_under(st, dst, key, &err);
		OPENSSL_cleanse(key, sizeof(key));
		if (rc) {
			orch_log("image import: the manifest says image.encryption %s, and sealing "
				 "the payload failed: %s; nothing was stored",
				 fota_encryption_name(m->encryption), err.msg);
			goto out;
		}
	}
	/* The delta first: a stored image whose manifest offers a delta has it in the store. */
	if (dst && orch_stage_commit(dst, (const char *)jws, jws_len, id, &err)) {
		orch_fail("store delta payload", &err);
		goto out;
	}
	if (orch_stage_commit(st, (const char *)jws, jws_len, id, &err)) {
		orch_fail("store image", &err);
		goto out;
	}
	if (st->replaced)
		orch_log("image %s was stored already; its manifest is replaced by this one", id);
	if (kept_key)
		orch_log("image %s keeps its content key, which devices may have been given", id);
	if (cfg.json) {
		fota_sha256(payload, payload_len, digest);
		ret = print_json(orch_image_json(id, m, digest));
	} else {
		printf("%s\n", id);
		ret = ORCH_EXIT_OK;
	}
out:
	free(jws);
	free(payload);
	fota_trust_free(trust);
	orch_stage_free(st);
	orch_stage_free(dst);
	free(m);
	return ret;
}

/* One line of `image list`'s table; a damaged image is logged and counted. */
static int list_one(void *ctx, const char *id, const struct orch_image *img,
		    const struct fota_error *why)
{
	unsigned *damaged = ctx;
	char t[FOTA_TIME_STR_LEN];

	if (!img) {
		orch_fail(id, why);
		(*damaged)++;
		return 0;
	}
	fota_time_format(img->manifest.expires, t);
	printf("%-16s  %-20s %-12s %12llu %7u %8llu  %s\n", id, img->manifest.name,
	       img->manifest.version, (unsigned long long)img->manifest.size,
	       img->manifest.chunk_count, (unsigned long long)img->manifest.sequence, t);
	if (img->manifest.has_delta) {
		char d[FOTA_IMAGE_ID_HEX_LEN + 1], b[FOTA_IMAGE_ID_HEX_LEN + 1];

		fota_hex_encode(img->manifest.delta.sha256, FOTA_IMAGE_ID_LEN, d);
		fota_hex_encode(img->manifest.delta.from_sha256, FOTA_IMAGE_ID_LEN, b);
		printf("  delta %s from %s %12llu %7u\n", d, b,
		       (unsigned long long)img->manifest.delta.size,
		       img->manifest.delta.chunk_count);
	}
	return 0;
}

/* Parses the shared options of `image list|show` and loads the configuration; *ret is the
 * exit code when it returns false. */
static bool read_options(int argc, char **argv, const char *usage, int nargs,
			 struct orch_config *cfg, int *ret)
{
	static const struct option longopts[] = {ORCH_COMMON_LONGOPTS};
	struct fota_error err = {0};
	int opt;

	orch_config_init(cfg);
	*ret = ORCH_EXIT_USAGE;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (!orch_config_flag(cfg, opt, optarg)) {
			fputs(usage, stderr);
			return false;
		}
	}
	if (orch_cli_help(cfg, usage)) {
		*ret = ORCH_EXIT_OK;
		return false;
	}
	if (optind + nargs != argc) {
		*ret = usage_error(usage, nargs ? "image show: expected exactly one ID"
						: "image list: unexpected arguments");
		return false;
	}
	return orch_cli_load_config(cfg, &err) == FOTA_OK;
}

static int image_list(int argc, char **argv)
{
	struct orch_config cfg;
	struct fota_error err = {0};
	unsigned damaged = 0;
	cJSON *arr = NULL;
	int ret;

	if (!read_options(argc, argv, list_usage, 0, &cfg, &ret))
		return ret;
	if (cfg.json) {
		if (orch_images_json(&cfg, &arr, &damaged, &err)) {
			orch_fail("image list", &err);
			return ORCH_EXIT_FAIL;
		}
		ret = print_json(arr);
		return damaged ? ORCH_EXIT_FAIL : ret;
	}
	printf("%-16s  %-20s %-12s %12s %7s %8s  %s\n", "IMAGE", "NAME", "VERSION", "SIZE",
	       "CHUNKS", "SEQUENCE", "EXPIRES");
	if (orch_images_each(&cfg, list_one, &damaged, &err)) {
		orch_fail("image list", &err);
		return ORCH_EXIT_FAIL;
	}
	return damaged ? ORCH_EXIT_FAIL : ORCH_EXIT_OK;
}

static int image_show(int argc, char **argv)
{
	struct orch_config cfg;
	struct fota_error err = {0};
	cJSON *o = NULL;
	const char *t;
	int ret;

	if (!read_options(argc, argv, show_usage, 1, &cfg, &ret))
		return ret;
	if (orch_image_show_json(&cfg, argv[optind], &o, &err)) {
		orch_fail("image show", &err);
		return err.code == FOTA_ERR_INVAL ? ORCH_EXIT_USAGE : orch_exit_for(err.code);
	}
	if (cfg.json)
		return print_json(o);
	/* The same members as --json, one per line. */
	for (cJSON *m = o->child; m; m = m->next) {
		t = cJSON_IsString(m) ? m->valuestring : NULL;
		if (t)
			printf("%-16s %s\n", m->string, t);
		else
			printf("%-16s %.0f\n", m->string, m->valuedouble);
	}
	cJSON_Delete(o);
	return ORCH_EXIT_OK;
}

int orch_cmd_image(int argc, char **argv)
{
	if (argc < 2) {
		fputs(image_usage, stderr);
		return ORCH_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(image_usage, stdout);
		return ORCH_EXIT_OK;
	}
	if (strcmp(argv[1], "add") == 0)
		return image_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "sign") == 0)
		return image_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return image_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return image_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return image_show(argc - 1, argv + 1);
	orch_log("image: unknown subcommand '%s' (add, sign, import, list or show)", argv[1]);
	return ORCH_EXIT_USAGE;
}
