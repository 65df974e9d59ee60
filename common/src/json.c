/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON reading and exact writing shared by every document codec, so they keep one set of
 * rules (docs/manifest.md, "Common rules"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fota/digest.h"
#include "fota/json_text.h"
#include "fota/limits.h"
#include "fota/timeutil.h"
#include "fota/utf8.h"
#include "json.h"

/* A \u0000 escape would cut a cJSON string short and hide what follows from the checks. Outside
 * strings a backslash is invalid JSON anyway, so every backslash starts an escape. */
static bool has_nul_escape(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\\')
			continue;
		if (buf[i + 1] == 'u' && len - i >= 6 && memcmp(buf + i + 2, "0000", 4) == 0)
			return true;
		i++;
	}
	return false;
}

/* RFC 8259 syntax, checked by our own scanner because cJSON is lenient: it takes "060", "61."
 * and any byte below 0x21 as whitespace, skips a byte order mark and passes invalid UTF-8. A
 * second verifier built on a strict parser would read such a document differently or not at
 * all, so the device refuses it. The scanner also walks the tree cJSON built from the same
 * bytes to keep each number's own text (see fota__json_int_value). */
struct scan {
	const uint8_t *buf;
	size_t len, pos;
	bool too_deep, nomem;
};

static bool at(const struct scan *s, uint8_t c)
{
	return s->pos < s->len && s->buf[s->pos] == c;
}

static bool is_digit(const struct scan *s)
{
	return s->pos < s->len && s->buf[s->pos] >= '0' && s->buf[s->pos] <= '9';
}

static void skip_ws(struct scan *s)
{
	while (s->pos < s->len && (s->buf[s->pos] == ' ' || s->buf[s->pos] == '\t' ||
				   s->buf[s->pos] == '\n' || s->buf[s->pos] == '\r'))
		s->pos++;
}

static bool literal(struct scan *s, const char *word)
{
	for (; *word != '\0'; word++, s->pos++)
		if (!at(s, (uint8_t)*word))
			return false;
	return true;
}

/* Four hex digits of a \u escape, either case. */
static bool hex4(struct scan *s, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++, s->pos++) {
		uint8_t c = s->pos < s->len ? s->buf[s->pos] : 0;

		if (c >= '0' && c <= '9')
			*out = *out * 16 + (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*out = *out * 16 + (unsigned)((c | 0x20) - 'a' + 10);
		else
			return false;
	}
	return true;
}

/* One UTF-8 character; on failure pos is at the first byte that cannot belong to it. */
static bool utf8_char(struct scan *s)
{
	size_t bad = 0, n = fota_utf8_char_len(s->buf + s->pos, s->len - s->pos, &bad);

	s->pos += n != 0 ? n : bad;
	return n != 0;
}

static bool scan_string(struct scan *s)
{
	s->pos++; /* the opening quote */
	for (;;) {
		uint8_t c;
		unsigned cp, low;

		if (s->pos >= s->len)
			return false;
		c = s->buf[s->pos];
		if (c == '"') {
			s->pos++;
			return true;
		}
		if (c < 0x20)
			return false; /* control characters must be escaped */
		if (c >= 0x80) {
			if (!utf8_char(s))
				return false;
			continue;
		}
		s->pos++;
		if (c != '\\')
			continue;
		if (s->pos < s->len && strchr("\"\\/bfnrt", s->buf[s->pos]) != NULL &&
		    s->buf[s->pos] != '\0') {
			s->pos++;
			continue;
		}
		if (!at(s, 'u'))
			return false;
		s->pos++;
		if (!hex4(s, &cp))
			return false;
		/* Half a surrogate pair names no character; readers would each guess one. */
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			s->pos -= 6;
			return false;
		}
		if (cp < 0xd800 || cp > 0xdbff)
			continue;
		if (!at(s, '\\') || s->pos + 1 >= s->len || s->buf[s->pos + 1] != 'u')
			return false;
		s->pos += 2;
		if (!hex4(s, &low))
			return false;
		if (low < 0xdc00 || low > 0xdfff) {
			s->pos -= 6;
			return false;
		}
	}
}

/* number = [ minus ] int [ frac ] [ exp ]; int = zero / ( digit1-9 *DIGIT ) */
static bool scan_number(struct scan *s)
{
	if (at(s, '-'))
		s->pos++;
	if (at(s, '0')) {
		s->pos++;
		if (is_digit(s))
			return false; /* leading zero: 060 */
	} else if (is_digit(s)) {
		while (is_digit(s))
			s->pos++;
	} else {
		return false;
	}
	if (at(s, '.')) {
		s->pos++;
		if (!is_digit(s))
			return false; /* 61. */
		while (is_digit(s))
			s->pos++;
	}
	if (at(s, 'e') || at(s, 'E')) {
		s->pos++;
		if (at(s, '+') || at(s, '-'))
			s->pos++;
		if (!is_digit(s))
			return false;
		while (is_digit(s))
			s->pos++;
	}
	return true;
}

/* Keeps a number's text in its cJSON item (freed by cJSON_Delete with the item). */
static bool keep_text(struct scan *s, cJSON *node, size_t start)
{
	size_t n = s->pos - start;
	char *text;

	if (node == NULL || !cJSON_IsNumber(node) || node->valuestring != NULL)
		return true;
	text = cJSON_malloc(n + 1);
	if (text == NULL) {
		s->nomem = true;
		return false;
	}
	memcpy(text, s->buf + start, n);
	text[n] = '\0';
	node->valuestring = text;
	return true;
}

/* node is cJSON's item for this value (NULL while only checking syntax). */
static bool scan_value(struct scan *s, cJSON *node, int depth)
{
	size_t start;
	uint8_t close;
	cJSON *child;

	skip_ws(s);
	if (s->pos >= s->len)
		return false;
	start = s->pos;
	switch (s->buf[s->pos]) {
	case '"':
		return scan_string(s);
	case 't':
		return literal(s, "true");
	case 'f':
		return literal(s, "false");
	case 'n':
		return literal(s, "null");
	case '{':
	case '[':
		break;
	default:
		return scan_number(s) && keep_text(s, node, start);
	}
	close = s->buf[s->pos] == '{' ? '}' : ']';
	if (depth == FOTA_MAX_JSON_DEPTH) {
		s->too_deep = true;
		return false;
	}
	s->pos++;
	skip_ws(s);
	if (at(s, close)) {
		s->pos++;
		return true;
	}
	child = node != NULL ? node->child : NULL;
	for (;;) {
		if (close == '}') {
			skip_ws(s);
			if (!at(s, '"') || !scan_string(s))
				return false;
			skip_ws(s);
			if (!at(s, ':'))
				return false;
			s->pos++;
		}
		if (!scan_value(s, child, depth + 1))
			return false;
		child = child != NULL ? child->next : NULL;
		skip_ws(s);
		if (at(s, close)) {
			s->pos++;
			return true;
		}
		if (!at(s, ','))
			return false;
		s->pos++;
	}
}

/* Exactly one value with optional whitespace around it. */
static bool scan_text(struct scan *s, cJSON *root)
{
	if (!scan_value(s, root, 0))
		return false;
	skip_ws(s);
	return s->pos == s->len;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* JSON readers disagree on which duplicate wins, so a signer and a device could see different
 * documents in the same bytes; refuse them. Sorting keeps wide objects O(n log n). */
static fota_err check_dups(const cJSON *node, const char *pfx, struct fota_error *err)
{
	const cJSON *c;
	const char **names = NULL;
	size_t n = 0;
	fota_err rc = FOTA_OK;

	for (c = node->child; c != NULL; c = c->next) {
		n++;
		if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			rc = check_dups(c, pfx, err);
			if (rc != FOTA_OK)
				return rc;
		}
	}
	if (!cJSON_IsObject(node) || n < 2)
		return FOTA_OK;
	names = malloc(n * sizeof(*names));
	if (names == NULL)
		return fota_error_set(err, FOTA_ERR_NOMEM, "%sout of memory", pfx);
	n = 0;
	for (c = node->child; c != NULL; c = c->next)
		names[n++] = c->string;
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(names[i - 1], names[i]) == 0) {
			rc = fota_error_set(err, FOTA_ERR_PARSE, "%sduplicate member '%.64s'", pfx,
					    names[i]);
			break;
		}
	}
	free(names);
	return rc;
}

fota_err fota__json_load(const uint8_t *buf, size_t len, size_t max, cJSON **out, const char *pfx,
			 struct fota_error *err)
{
	struct scan s = {buf, len, 0, false, false};
	cJSON *root = NULL;
	fota_err rc = FOTA_OK;

	*out = NULL;
	if (buf == NULL && len > 0)
		return fota_error_set(err, FOTA_ERR_INVAL, "%sno input", pfx);
	if (len > max)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "%s%zu bytes, limit %zu", pfx, len,
				      max);
	if (len == 0)
		return fota_error_set(err, FOTA_ERR_PARSE, "%sempty document", pfx);
	if (memchr(buf, '\0', len) != NULL)
		return fota_error_set(err, FOTA_ERR_PARSE, "%sNUL byte in document", pfx);
	if (has_nul_escape(buf, len))
		return fota_error_set(err, FOTA_ERR_PARSE, "%s\\u0000 escape in a string", pfx);
	if (!scan_text(&s, NULL)) {
		if (s.too_deep)
			return fota_error_set(err, FOTA_ERR_TOO_BIG,
					      "%snested deeper than %d levels near byte %zu", pfx,
					      FOTA_MAX_JSON_DEPTH, s.pos);
		return fota_error_set(err, FOTA_ERR_PARSE, "%smalformed JSON near byte %zu", pfx,
				      s.pos);
	}
	/* The text is valid JSON without NUL, so cJSON can fail only for want of memory. */
	root = cJSON_ParseWithLength((const char *)buf, len);
	s.pos = 0;
	if (root == NULL || !scan_text(&s, root)) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "%sout of memory", pfx);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		rc = fota_error_set(err, FOTA_ERR_PARSE, "%snot a JSON object", pfx);
		goto out;
	}
	rc = check_dups(root, pfx, err);
out:
	if (rc != FOTA_OK)
		cJSON_Delete(root);
	else
		*out = root;
	return rc;
}

fota_err fota__json_load_kind(const uint8_t *buf, size_t len, size_t max, const char *kind,
			      const char *expected, cJSON **out, const char *pfx,
			      struct fota_error *err)
{
	const char *s;
	fota_err rc = fota__json_load(buf, len, max, out, pfx, err);

	if (rc == FOTA_OK)
		rc = fota__json_get_string(*out, kind, true, 1, FOTA_MAX_NAME_LEN, &s, pfx, err);
	if (rc == FOTA_OK && strcmp(s, expected) != 0)
		rc = fota_error_set(err, FOTA_ERR_FIELD, "%s%s '%s' is not '%s'", pfx, kind, s,
				    expected);
	if (rc != FOTA_OK) {
		cJSON_Delete(*out);
		*out = NULL;
	}
	return rc;
}

const cJSON *fota__json_member(const cJSON *obj, const char *path)
{
	const char *dot = strrchr(path, '.');

	return cJSON_GetObjectItemCaseSensitive(obj, dot != NULL ? dot + 1 : path);
}

fota_err fota__json_missing(const char *path, const char *pfx, struct fota_error *err)
{
	return fota_error_set(err, FOTA_ERR_FIELD, "%s%s missing", pfx, path);
}

fota_err fota__json_int_value(const cJSON *it, const char *path, uint64_t min, uint64_t max,
			      uint64_t *out, const char *pfx, struct fota_error *err)
{
	double v;

	if (!cJSON_IsNumber(it))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not a number", pfx, path);
	v = it->valuedouble;
	if (!(v >= 0 && v <= (double)FOTA__JSON_MAX_INT) || (double)(uint64_t)v != v) {
		char shown[48];

		/* The document's own text: a double would show 9007199254740993 as ...992. */
		if (it->valuestring != NULL)
			snprintf(shown, sizeof(shown), "%.40s%s", it->valuestring,
				 strlen(it->valuestring) > 40 ? "..." : "");
		else
			snprintf(shown, sizeof(shown), "%.17g", v);
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "%s%s %s is not an integer in 0..%" PRIu64, pfx, path, shown,
				      (uint64_t)FOTA__JSON_MAX_INT);
	}
	*out = (uint64_t)v;
	if (*out < min || *out > max)
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "%s%s %" PRIu64 " out of range %" PRIu64 "..%" PRIu64, pfx,
				      path, *out, min, max);
	return FOTA_OK;
}

fota_err fota__json_get_uint(const cJSON *obj, const char *path, uint64_t min, uint64_t max,
			     uint64_t *out, const char *pfx, struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);

	if (it == NULL)
		return fota__json_missing(path, pfx, err);
	return fota__json_int_value(it, path, min, max, out, pfx, err);
}

fota_err fota__json_check_text(const char *s, size_t min, size_t max, const char *path,
			       const char *pfx, struct fota_error *err)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "%s%s longer than %zu bytes", pfx,
				      path, max);
	if (n < min)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is empty", pfx, path);
	/* Printable ASCII only: these strings reach logs, file names and hook environments. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e)
			return fota_error_set(err, FOTA_ERR_FIELD,
					      "%s%s has byte 0x%02x, not printable ASCII", pfx,
					      path, c);
	}
	return FOTA_OK;
}

fota_err fota__json_string_value(const cJSON *it, const char *path, size_t min, size_t max,
				 const char **out, const char *pfx, struct fota_error *err)
{
	fota_err rc;

	if (!cJSON_IsString(it))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not a string", pfx, path);
	rc = fota__json_check_text(it->valuestring, min, max, path, pfx, err);
	if (rc == FOTA_OK)
		*out = it->valuestring;
	return rc;
}

fota_err fota__json_get_string(const cJSON *obj, const char *path, bool required, size_t min,
			       size_t max, const char **out, const char *pfx,
			       struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);

	*out = NULL;
	if (it == NULL)
		return required ? fota__json_missing(path, pfx, err) : FOTA_OK;
	return fota__json_string_value(it, path, min, max, out, pfx, err);
}

fota_err fota__json_get_bool(const cJSON *obj, const char *path, bool required, bool *out,
			     const char *pfx, struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);

	if (it == NULL)
		return required ? fota__json_missing(path, pfx, err) : FOTA_OK;
	if (!cJSON_IsBool(it))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not true or false", pfx, path);
	*out = cJSON_IsTrue(it);
	return FOTA_OK;
}

fota_err fota__json_get_time(const cJSON *obj, const char *path, int64_t *out, const char *pfx,
			     struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);
	struct fota_error terr = {0};

	if (it == NULL)
		return fota__json_missing(path, pfx, err);
	if (!cJSON_IsString(it))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not a string", pfx, path);
	if (fota_time_parse(it->valuestring, out, &terr) != FOTA_OK)
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s %s", pfx, path, terr.msg);
	return FOTA_OK;
}

bool fota__json_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[n] == '\0';
}

/* One canonical spelling per value, so equal digests are equal strings. */
fota_err fota__json_get_hex(const cJSON *obj, const char *path, bool required, bool *present,
			    uint8_t *out, size_t n, const char *pfx, struct fota_error *err)
{
	const cJSON *it = fota__json_member(obj, path);

	if (present != NULL)
		*present = it != NULL;
	if (it == NULL)
		return required ? fota__json_missing(path, pfx, err) : FOTA_OK;
	if (!cJSON_IsString(it) || strnlen(it->valuestring, 2 * n + 1) != 2 * n ||
	    !fota__json_is_hex(it->valuestring, 2 * n))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not %zu lower-case hex digits",
				      pfx, path, 2 * n);
	return fota_hex_decode(it->valuestring, out, n, err);
}

fota_err fota__json_get_object(const cJSON *obj, const char *path, bool required, const cJSON **out,
			       const char *pfx, struct fota_error *err)
{
	*out = fota__json_member(obj, path);
	if (*out == NULL)
		return required ? fota__json_missing(path, pfx, err) : FOTA_OK;
	if (!cJSON_IsObject(*out))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not an object", pfx, path);
	return FOTA_OK;
}

fota_err fota__json_get_array(const cJSON *obj, const char *path, bool required, size_t max_items,
			      const cJSON **out, const char *pfx, struct fota_error *err)
{
	*out = fota__json_member(obj, path);
	if (*out == NULL)
		return required ? fota__json_missing(path, pfx, err) : FOTA_OK;
	if (!cJSON_IsArray(*out))
		return fota_error_set(err, FOTA_ERR_FIELD, "%s%s is not an array", pfx, path);
	if ((size_t)cJSON_GetArraySize(*out) > max_items)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "%s%s has more than %zu items", pfx,
				      path, max_items);
	return FOTA_OK;
}

fota_err fota__json_get_enum(const cJSON *obj, const char *path, const char *const *names,
			     size_t n_names, const char *expected, int *out, const char *pfx,
			     struct fota_error *err)
{
	const char *s;
	fota_err rc = fota__json_get_string(obj, path, true, 1, FOTA_MAX_NAME_LEN, &s, pfx, err);

	if (rc != FOTA_OK)
		return rc;
	for (size_t i = 0; i < n_names; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return FOTA_OK;
		}
	}
	return fota_error_set(err, FOTA_ERR_FIELD, "%s%s '%s' is not %s", pfx, path, s, expected);
}

const char *fota__json_find_string(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

bool fota__json_time_ok(int64_t t)
{
	char buf[FOTA_TIME_STR_LEN];
	int64_t back = -1;

	fota_time_format(t, buf);
	return fota_time_parse(buf, &back, NULL) == FOTA_OK && back == t;
}

bool fota__json_add_uint(cJSON *obj, const char *name, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_AddRawToObject(obj, name, buf) != NULL;
}

bool fota__json_add_time(cJSON *obj, const char *name, int64_t t)
{
	char buf[FOTA_TIME_STR_LEN];

	fota_time_format(t, buf);
	return cJSON_AddStringToObject(obj, name, buf) != NULL;
}

fota_err fota_json_parse_object(const char *buf, size_t len, size_t max, cJSON **out,
				struct fota_error *err)
{
	return fota__json_load((const uint8_t *)buf, len, max, out, "", err);
}
