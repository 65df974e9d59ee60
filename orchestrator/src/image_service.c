/* SPDX-License-Identifier: Apache-2.0 */
/* The stored images as JSON and one by one: what `image list|show` and GET /api/v1/images
 * both print. */
#include <string.h>

#include "fota/digest.h"
#include "fota/timeutil.h"

#include "image_service.h"

cJSON *orch_image_json(const char *id, const struct fota_manifest *m,
		       const uint8_t manifest_sha256[FOTA_SHA256_LEN])
{
	char hex[FOTA_SHA256_HEX_LEN + 1];
	char t[FOTA_TIME_STR_LEN];
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "image_id", id);
	cJSON_AddStringToObject(o, "name", m->name);
	cJSON_AddStringToObject(o, "version", m->version);
	cJSON_AddStringToObject(o, "vendor", m->vendor);
	cJSON_AddStringToObject(o, "model", m->model);
	cJSON_AddNumberToObject(o, "sequence", (double)m->sequence);
	cJSON_AddNumberToObject(o, "size", (double)m->size);
	fota_hex_encode(m->sha256, FOTA_SHA256_LEN, hex);
	cJSON_AddStringToObject(o, "sha256", hex);
	cJSON_AddNumberToObject(o, "chunk_size", m->chunk_size);
	cJSON_AddNumberToObject(o, "chunk_count", m->chunk_count);
	fota_hex_encode(manifest_sha256, FOTA_SHA256_LEN, hex);
	cJSON_AddStringToObject(o, "manifest_sha256", hex);
	cJSON_AddStringToObject(o, "method", fota_install_method_name(m->install_method));
	cJSON_AddStringToObject(o, "encryption", fota_encryption_name(m->encryption));
	fota_time_format(m->expires, t);
	cJSON_AddStringToObject(o, "expires", t);
	if (m->has_delta) {
		cJSON *d = cJSON_AddObjectToObject(o, "delta");
		char id_hex[FOTA_IMAGE_ID_HEX_LEN + 1];

		fota_hex_encode(m->delta.sha256, FOTA_IMAGE_ID_LEN, id_hex);
		cJSON_AddStringToObject(d, "image_id", id_hex);
		fota_hex_encode(m->delta.from_sha256, FOTA_SHA256_LEN, hex);
		cJSON_AddStringToObject(d, "from_sha256", hex);
		cJSON_AddNumberToObject(d, "size", (double)m->delta.size);
		cJSON_AddNumberToObject(d, "chunk_count", m->delta.chunk_count);
	} else {
		cJSON_AddNullToObject(o, "delta");
	}
	return o;
}

struct visit {
	const struct orch_config *cfg;
	orch_image_visit_fn fn;
	void *ctx;
};

static int visit_one(void *ctx, const char *id)
{
	struct visit *v = ctx;
	struct orch_image *img = NULL;
	struct fota_error why = {0};
	int stop;

	if (orch_image_open(v->cfg, id, &img, &why))
		stop = v->fn(v->ctx, id, NULL, &why);
	else if (img->delta_payload) /* listed under the image that offers it */
		stop = 0;
	else
		stop = v->fn(v->ctx, id, img, NULL);
	orch_image_free(img);
	return stop;
}

fota_err orch_images_each(const struct orch_config *cfg, orch_image_visit_fn fn, void *ctx,
			  struct fota_error *err)
{
	struct visit v = {.cfg = cfg, .fn = fn, .ctx = ctx};

	return orch_image_list(cfg, visit_one, &v, err);
}

struct collect {
	cJSON *arr;
	unsigned damaged;
};

static int collect_one(void *ctx, const char *id, const struct orch_image *img,
		       const struct fota_error *why)
{
	struct collect *c = ctx;
	cJSON *o;

	if (img) {
		o = orch_image_json(id, &img->manifest, img->manifest_sha256);
	} else {
		c->damaged++;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "image_id", id);
		cJSON_AddStringToObject(o, "error", why->msg);
	}
	cJSON_AddItemToArray(c->arr, o);
	return 0;
}

fota_err orch_images_json(const struct orch_config *cfg, cJSON **out, unsigned *damaged,
			  struct fota_error *err)
{
	struct collect c = {.arr = cJSON_CreateArray()};
	fota_err rc;

	*out = NULL;
	*damaged = 0;
	if (!c.arr)
		return fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	rc = orch_images_each(cfg, collect_one, &c, err);
	if (rc) {
		cJSON_Delete(c.arr);
		return rc;
	}
	*out = c.arr;
	*damaged = c.damaged;
	return FOTA_OK;
}

fota_err orch_image_show_json(const struct orch_config *cfg, const char *id, cJSON **out,
			      struct fota_error *err)
{
	struct orch_image *img = NULL;
	fota_err rc = orch_image_open(cfg, id, &img, err);

	*out = NULL;
	if (rc)
		return rc;
	*out = orch_image_json(img->id, &img->manifest, img->manifest_sha256);
	orch_image_free(img);
	return *out ? FOTA_OK : fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
}
