/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crash-state generator: replays a file-system call trace (fota_fstrace.c) over a snapshot of
 * the traced tree and writes out the states a power cut after any call could leave, in the
 * spirit of ALICE (Pillai et al., OSDI 2014). The model is the one POSIX promises, stricter than
 * ext4's defaults:
 *   - a file's data is durable only after fsync/fdatasync of that file;
 *   - a directory entry (create, rename, link, unlink, mkdir) is durable only after fsync of
 *     the directory that holds it;
 *   - what is not durable may be lost, applied, applied out of order, or a write torn.
 *
 * Usage:
 *   fota_crashsim count TRACE                      number of recorded calls
 *   fota_crashsim list TRACE                       the calls, one per line
 *   fota_crashsim make TRACE SNAPSHOT OUT CUT MODE writes the state after CUT calls into OUT
 *                                                  (OUT must be empty); prints its digest;
 *                                                  exit 4 when a synced file is lost (an
 *                                                  ancestor directory entry was never synced)
 *   fota_crashsim checkpoint BITMAP DATA IMAGE     every chunk the bitmap marks present holds
 *                                                  IMAGE's bytes (exit 1 if not; exit 3 when the
 *                                                  bitmap is damaged, which the agent discards)
 *   fota_crashsim enumerate TRACE SNAPSHOT [RANDOM] digest of every state (CUT, MODE) with
 *                                                  RANDOM random modes per cut; prints
 *                                                  "CUT MODE DIGEST" for each distinct state
 * MODE: synced (only what was synced), all (every call applied, as kill -9 leaves it),
 *       reorder (directory entries as called, file data only as synced), torn (all applied,
 *       the last unsynced write of each file half applied), random:SEED (each unsynced write
 *       kept or dropped, sometimes torn; a random prefix of unsynced directory changes).
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint_format.h"
#include "crash_trace.h"

struct buf {
	uint8_t *p;
	size_t len;
};

struct op {
	const struct crash_rec *h;
	char *p1, *p2;
	const uint8_t *data;
	int ino; /* inode the call acted on (content ops, create, mkdir) */
};

struct inode {
	bool dir;
	uint32_t mode;
	struct buf vol, dur;	     /* content as written, content as synced */
	uint64_t vol_hash, dur_hash; /* content digests, valid while the *_hash_ok flags say so */
	bool vol_hash_ok, dur_hash_ok;
	size_t *pend, npend; /* unsynced content ops (indexes into ops) */
};

struct entry {
	char *path;
	int ino;
};

struct names {
	struct entry *e;
	size_t n;
};

struct model {
	struct op *ops;
	size_t nops;
	struct inode *ino;
	size_t nino;
	struct names vol, dur;
	size_t *nspend, nnspend; /* unsynced directory changes (indexes into ops) */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fota_crashsim: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("%s", "out of memory");
	return p;
}

static void buf_set(struct buf *b, const struct buf *from)
{
	b->p = xrealloc(b->p, from->len);
	if (from->len)
		memcpy(b->p, from->p, from->len);
	b->len = from->len;
}

static void buf_write(struct buf *b, uint64_t off, const uint8_t *data, uint64_t len)
{
	if (off + len > b->len) {
		b->p = xrealloc(b->p, off + len);
		memset(b->p + b->len, 0, off + len - b->len); /* a hole reads as zeros */
		b->len = off + len;
	}
	memcpy(b->p + off, data, len);
}

static void buf_truncate(struct buf *b, uint64_t len)
{
	if (len > b->len) {
		b->p = xrealloc(b->p, len);
		memset(b->p + b->len, 0, len - b->len);
	}
	b->len = len;
}

/* ---- names: a small path -> inode map ---- */

static struct entry *names_find(struct names *n, const char *path)
{
	for (size_t i = 0; i < n->n; i++)
		if (strcmp(n->e[i].path, path) == 0)
			return &n->e[i];
	return NULL;
}

static int names_get(struct names *n, const char *path)
{
	struct entry *e = names_find(n, path);

	return e ? e->ino : -1;
}

static void names_set(struct names *n, const char *path, int ino)
{
	struct entry *e = names_find(n, path);

	if (e) {
		e->ino = ino;
		return;
	}
	n->e = xrealloc(n->e, (n->n + 1) * sizeof(*n->e));
	n->e[n->n].path = strdup(path);
	n->e[n->n].ino = ino;
	n->n++;
}

static void names_del(struct names *n, const char *path)
{
	struct entry *e = names_find(n, path);

	if (!e)
		return;
	free(e->path);
	*e = n->e[--n->n];
}

static void names_copy(struct names *to, const struct names *from)
{
	for (size_t i = 0; i < to->n; i++)
		free(to->e[i].path);
	to->n = 0;
	for (size_t i = 0; i < from->n; i++)
		names_set(to, from->e[i].path, from->e[i].ino);
}

/* Applies one directory change to a name map; a change whose source is absent (its own
 * creation was lost) changes nothing, as on disk. */
static void names_apply(struct names *n, const struct op *o)
{
	int ino;

	switch (o->h->op) {
	case CRASH_OP_CREATE:
	case CRASH_OP_MKDIR:
		names_set(n, o->p1, o->ino);
		break;
	case CRASH_OP_RENAME:
		ino = names_get(n, o->p1);
		if (ino < 0)
			break;
		names_del(n, o->p1);
		names_set(n, o->p2, ino);
		break;
	case CRASH_OP_LINK:
		ino = names_get(n, o->p1);
		if (ino >= 0)
			names_set(n, o->p2, ino);
		break;
	case CRASH_OP_UNLINK:
	case CRASH_OP_RMDIR:
		names_del(n, o->p1);
		break;
	default:
		break;
	}
}

/* ---- the model ---- */

static int new_inode(struct model *m, bool dir, uint32_t mode)
{
	m->ino = xrealloc(m->ino, (m->nino + 1) * sizeof(*m->ino));
	memset(&m->ino[m->nino], 0, sizeof(m->ino[m->nino]));
	m->ino[m->nino].dir = dir;
	m->ino[m->nino].mode = mode;
	return (int)m->nino++;
}

static struct model *load_model;
static const char *load_root;

static int load_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct model *m = load_model;
	const char *rel = path + strlen(load_root);
	int ino;

	(void)ftw;
	rel = *rel == '/' ? rel + 1 : (*rel ? rel : ".");
	if (type == FTW_D) {
		ino = new_inode(m, true, st->st_mode & 07777);
	} else if (type == FTW_F) {
		struct buf b = {0};
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			die("cannot read %s", path);
		b.len = (size_t)st->st_size;
		b.p = xrealloc(NULL, b.len);
		if (b.len && read(fd, b.p, b.len) != (ssize_t)b.len)
			die("short read of %s", path);
		close(fd);
		ino = new_inode(m, false, st->st_mode & 07777);
		m->ino[ino].vol = b;
		buf_set(&m->ino[ino].dur, &b);
	} else {
		return 0; /* symbolic links and others are not part of the model */
	}
	names_set(&m->vol, rel, ino);
	names_set(&m->dur, rel, ino);
	return 0;
}

static void load_trace(struct model *m, const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	const uint8_t *p, *end;

	if (fd < 0 || fstat(fd, &st) != 0)
		die("cannot open trace %s", path);
	if (st.st_size == 0)
		return;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("cannot map trace %s", path);
	close(fd);
	end = p + st.st_size;
	while (p < end) {
		struct op o = {.h = (const struct crash_rec *)p, .ino = -1};
		size_t need;

		if ((size_t)(end - p) < sizeof(*o.h) || o.h->magic != CRASH_TRACE_MAGIC)
			die("%s: corrupt trace record", path);
		need = sizeof(*o.h) + o.h->path_len + o.h->path2_len + o.h->len;
		if ((size_t)(end - p) < need)
			die("%s: truncated trace record", path);
		o.p1 = strndup((const char *)p + sizeof(*o.h), o.h->path_len);
		o.p2 = strndup((const char *)p + sizeof(*o.h) + o.h->path_len, o.h->path2_len);
		o.data = p + sizeof(*o.h) + o.h->path_len + o.h->path2_len;
		m->ops = xrealloc(m->ops, (m->nops + 1) * sizeof(*m->ops));
		m->ops[m->nops++] = o;
		p += need;
	}
}

static char *dir_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? strndup(path, (size_t)(s - path)) : strdup(".");
}

static bool in_dir(const char *path, const char *dir)
{
	char *d;
	bool r;

	if (!path || !*path)
		return false;
	d = dir_of(path);
	r = strcmp(d, dir) == 0;
	free(d);
	return r;
}

static void apply_content(struct buf *b, const struct op *o, uint64_t keep)
{
	if (o->h->op == CRASH_OP_WRITE)
		buf_write(b, o->h->off, o->data, keep);
	else
		buf_truncate(b, o->h->off);
}

static void sync_inode(struct inode *n)
{
	buf_set(&n->dur, &n->vol);
	n->dur_hash = n->vol_hash;
	n->dur_hash_ok = n->vol_hash_ok;
	n->npend = 0;
}

/* Runs the first cut calls through the model: vol is what the processes saw, dur what a
 * power cut after call cut is guaranteed to keep; pending lists hold the difference. */
static void replay(struct model *m, size_t from, size_t cut)
{
	for (size_t i = from; i < cut && i < m->nops; i++) {
		struct op *o = &m->ops[i];
		int ino;

		switch (o->h->op) {
		case CRASH_OP_CREATE:
		case CRASH_OP_MKDIR:
			o->ino = new_inode(m, o->h->op == CRASH_OP_MKDIR, o->h->mode);
			/* fall through */
		case CRASH_OP_RENAME:
		case CRASH_OP_LINK:
		case CRASH_OP_UNLINK:
		case CRASH_OP_RMDIR:
			names_apply(&m->vol, o);
			m->nspend = xrealloc(m->nspend, (m->nnspend + 1) * sizeof(size_t));
			m->nspend[m->nnspend++] = i;
			break;
		case CRASH_OP_WRITE:
		case CRASH_OP_TRUNCATE:
			ino = names_get(&m->vol, o->p1);
			if (ino < 0)
				die("trace writes to %s, which the model does not have", o->p1);
			o->ino = ino;
			apply_content(&m->ino[ino].vol, o, o->h->len);
			m->ino[ino].vol_hash_ok = false;
			m->ino[ino].pend =
			    xrealloc(m->ino[ino].pend, (m->ino[ino].npend + 1) * sizeof(size_t));
			m->ino[ino].pend[m->ino[ino].npend++] = i;
			break;
		case CRASH_OP_FSYNC:
			ino = names_get(&m->vol, o->p1);
			if (ino < 0)
				break;
			if (m->ino[ino].dir) {
				/* The directory's own entries become durable, in call order. */
				size_t keep = 0;

				for (size_t k = 0; k < m->nnspend; k++) {
					struct op *n = &m->ops[m->nspend[k]];

					if (in_dir(n->p1, o->p1) || in_dir(n->p2, o->p1))
						names_apply(&m->dur, n);
					else
						m->nspend[keep++] = m->nspend[k];
				}
				m->nnspend = keep;
			} else {
				sync_inode(&m->ino[ino]);
			}
			break;
		case CRASH_OP_SYNC:
			for (size_t k = 0; k < m->nnspend; k++)
				names_apply(&m->dur, &m->ops[m->nspend[k]]);
			m->nnspend = 0;
			for (size_t k = 0; k < m->nino; k++)
				sync_inode(&m->ino[k]);
			break;
		default:
			die("%s: unknown call in trace", o->p1);
		}
	}
}

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

/* A torn write keeps a sector-aligned prefix: half of it, at least one byte. */
static uint64_t torn_len(uint64_t len)
{
	uint64_t half = (len / 2) & ~(uint64_t)511;

	return half ? half : (len > 1 ? len / 2 : len);
}

/* What one file holds in a crash state: its synced or its written content as it is (use
 * points into the inode, whose cached digest serves), or a mix built for the state (own). */
struct content {
	const struct buf *use;
	struct buf own;
	uint64_t *hash;
	bool *hash_ok;
};

static void content_alias(struct content *c, struct buf *b, uint64_t *hash, bool *ok)
{
	c->use = b;
	c->hash = hash;
	c->hash_ok = ok;
}

static bool known_mode(const char *mode)
{
	return strcmp(mode, "synced") == 0 || strcmp(mode, "all") == 0 ||
	       strcmp(mode, "reorder") == 0 || strcmp(mode, "torn") == 0 ||
	       strncmp(mode, "random:", 7) == 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

/* Entries whose directory's own entry was lost are unreachable after the cut: drop them.
 * Sorted, a directory comes before what it holds, so one pass settles nested losses. An entry
 * its program had made durable (its directory was synced) but which is lost all the same
 * because an ancestor's entry was never synced is a durability bug: report it. */
static unsigned lost_durable;

static void drop_orphans(struct names *n, struct model *m)
{
	size_t keep = 0;

	qsort(n->e, n->n, sizeof(*n->e), cmp_entry);
	for (size_t i = 0; i < n->n; i++) {
		char *dir = dir_of(n->e[i].path);
		bool reachable = strcmp(n->e[i].path, ".") == 0;

		for (size_t k = 0; k < keep && !reachable; k++)
			reachable = m->ino[n->e[k].ino].dir && strcmp(n->e[k].path, dir) == 0;
		if (reachable) {
			n->e[keep++] = n->e[i];
		} else {
			if (names_get(&m->dur, n->e[i].path) == n->e[i].ino) {
				fprintf(stderr, "lost: %s, synced, but the entry of %s never was\n",
					n->e[i].path, dir);
				lost_durable++;
			}
			free(n->e[i].path);
		}
		free(dir);
	}
	n->n = keep;
}

/* The crash state for a mode: a name map and a content per inode. */
static void crash_state(struct model *m, const char *mode, struct names *names,
			struct content *cont)
{
	bool random = strncmp(mode, "random:", 7) == 0;

	if (!known_mode(mode))
		die("unknown mode %s", mode);
	if (random)
		rng_state = strtoull(mode + 7, NULL, 10) * 2654435761u + 1;

	names_copy(names, &m->dur);
	if (strcmp(mode, "synced") == 0) {
	} else if (random) {
		size_t upto = m->nnspend ? rnd() % (m->nnspend + 1) : 0;

		for (size_t k = 0; k < upto; k++)
			names_apply(names, &m->ops[m->nspend[k]]);
	} else {
		names_copy(names, &m->vol);
	}
	drop_orphans(names, m);

	for (size_t i = 0; i < m->nino; i++) {
		struct inode *n = &m->ino[i];
		struct content *c = &cont[i];

		free(c->own.p);
		memset(c, 0, sizeof(*c));
		if (strcmp(mode, "all") == 0 || n->npend == 0) {
			content_alias(c, &n->vol, &n->vol_hash, &n->vol_hash_ok);
			continue;
		}
		if (strcmp(mode, "synced") == 0 || strcmp(mode, "reorder") == 0) {
			content_alias(c, &n->dur, &n->dur_hash, &n->dur_hash_ok);
			continue;
		}
		buf_set(&c->own, &n->dur);
		c->use = &c->own;
		for (size_t k = 0; k < n->npend; k++) {
			const struct op *o = &m->ops[n->pend[k]];
			bool last = k + 1 == n->npend;

			if (random) {
				uint32_t r = rnd() % 8;

				if (r < 3)
					continue; /* lost */
				apply_content(&c->own, o, r == 7 ? torn_len(o->h->len) : o->h->len);
			} else {
				apply_content(&c->own, o, last ? torn_len(o->h->len) : o->h->len);
			}
		}
	}
}

/* A 64-bit FNV-1a variant over words: a fingerprint to tell states apart, not a MAC. */
static uint64_t fold(uint64_t h, const uint8_t *p, size_t len)
{
	uint64_t w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 1099511628211ull;
	}
	while (len--)
		h = (h ^ *p++) * 1099511628211ull;
	return h;
}

static uint64_t content_hash(struct content *c)
{
	uint64_t h;

	if (c->hash_ok && *c->hash_ok)
		return *c->hash;
	h = fold(1469598103934665603ull, c->use->p, c->use->len);
	h = fold(h, (const uint8_t *)&c->use->len, sizeof(c->use->len));
	if (c->hash) {
		*c->hash = h;
		*c->hash_ok = true;
	}
	return h;
}

/* Equal digests, equal states: names (sorted by drop_orphans), kinds and contents. */
static uint64_t digest(struct names *names, const struct model *m, struct content *cont)
{
	uint64_t h = 1469598103934665603ull, ch;

	for (size_t i = 0; i < names->n; i++) {
		const struct entry *e = &names->e[i];

		h = fold(h, (const uint8_t *)e->path, strlen(e->path) + 1);
		ch = m->ino[e->ino].dir ? 0x2f : content_hash(&cont[e->ino]);
		h = fold(h, (const uint8_t *)&ch, sizeof(ch));
	}
	return h;
}

static void write_out(const char *out, struct names *names, const struct model *m,
		      const struct content *cont)
{
	char path[4096];

	/* Sorted, so a directory comes before what it holds. */
	for (size_t i = 0; i < names->n; i++) {
		const struct entry *e = &names->e[i];
		const struct inode *n = &m->ino[e->ino];
		int fd;

		if (strcmp(e->path, ".") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", out, e->path);
		if (n->dir) {
			if (mkdir(path, n->mode ? n->mode : 0755) != 0 && errno != EEXIST)
				die("cannot create %s", path);
			continue;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, n->mode ? n->mode : 0600);
		if (fd < 0)
			die("cannot create %s (is its directory in the state?)", path);
		if (cont[e->ino].use->len &&
		    write(fd, cont[e->ino].use->p, cont[e->ino].use->len) !=
			(ssize_t)cont[e->ino].use->len)
			die("cannot write %s", path);
		fchmod(fd, n->mode ? n->mode : 0600);
		close(fd);
	}
}

static void model_load(struct model *m, const char *trace, const char *snapshot)
{
	memset(m, 0, sizeof(*m));
	load_model = m;
	load_root = snapshot;
	if (nftw(snapshot, load_one, 32, FTW_PHYS) != 0)
		die("cannot walk snapshot %s", snapshot);
	load_trace(m, trace);
}

static const char *op_name(uint16_t op)
{
	static const char *names[] = {"?",	"create", "truncate", "write", "fsync", "rename",
				      "unlink", "link",	  "mkdir",    "rmdir", "sync"};

	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

static struct buf read_file(const char *path)
{
	struct buf b = {0};
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		die("cannot read %s: %s", path, strerror(errno));
	b.len = (size_t)st.st_size;
	b.p = xrealloc(NULL, b.len);
	if (b.len && read(fd, b.p, b.len) != (ssize_t)b.len)
		die("short read of %s", path);
	close(fd);
	return b;
}

/* The checkpoint's promise: no chunk is marked present that is not on disk. */
static int check_checkpoint(const char *bitmap, const char *data, const char *image)
{
	struct buf bm = read_file(bitmap), d = read_file(data), img = read_file(image);
	struct fota__checkpoint_file f;
	struct fota_error err = {0};
	uint32_t present = 0, wrong = 0;

	if (fota__checkpoint_parse(bm.p, bm.len, &f, &err) != FOTA_OK) {
		printf("damaged: %s\n", err.msg);
		return 3;
	}
	if (f.image_size != img.len)
		die("bitmap is for %llu bytes, image has %zu", (unsigned long long)f.image_size,
		    img.len);
	for (uint32_t i = 0; i < f.count; i++) {
		uint64_t off = (uint64_t)i * f.chunk_size, len = f.chunk_size;

		if (!(f.bitmap[i / 8] & (0x80u >> (i % 8))))
			continue;
		present++;
		if (off + len > img.len)
			len = img.len - off;
		if (off + len > d.len || memcmp(d.p + off, img.p + off, len) != 0) {
			printf("chunk %u is marked present but does not hold the image's bytes\n",
			       i);
			wrong++;
		}
	}
	printf("%u of %u chunks marked present, %u of them wrong\n", present, f.count, wrong);
	return wrong ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct model m;

	if (argc == 3 && (strcmp(argv[1], "count") == 0 || strcmp(argv[1], "list") == 0)) {
		memset(&m, 0, sizeof(m));
		load_trace(&m, argv[2]);
		if (strcmp(argv[1], "count") == 0) {
			printf("%zu\n", m.nops);
			return 0;
		}
		for (size_t i = 0; i < m.nops; i++)
			printf("%zu pid %d %s %s%s%s off %" PRIu64 " len %" PRIu64 "\n", i + 1,
			       m.ops[i].h->pid, op_name(m.ops[i].h->op), m.ops[i].p1,
			       *m.ops[i].p2 ? " -> " : "", m.ops[i].p2, m.ops[i].h->off,
			       m.ops[i].h->len);
		return 0;
	}
	if (argc == 7 && strcmp(argv[1], "make") == 0) {
		struct names names = {0};
		struct content *cont;
		uint64_t h;

		model_load(&m, argv[2], argv[3]);
		replay(&m, 0, strtoul(argv[5], NULL, 10));
		cont = calloc(m.nino, sizeof(*cont));
		crash_state(&m, argv[6], &names, cont);
		h = digest(&names, &m, cont);
		write_out(argv[4], &names, &m, cont);
		printf("%016" PRIx64 "\n", h);
		return lost_durable ? 4 : 0;
	}
	if (argc == 5 && strcmp(argv[1], "checkpoint") == 0)
		return check_checkpoint(argv[2], argv[3], argv[4]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "enumerate") == 0) {
		const char *fixed[] = {"all", "synced", "reorder", "torn"};
		unsigned nrandom = argc == 5 ? (unsigned)strtoul(argv[4], NULL, 10) : 0;
		uint64_t *seen = NULL;
		size_t nseen = 0, count;
		struct names names = {0};
		char mode[32];

		model_load(&m, argv[2], argv[3]);
		count = m.nops;
		for (size_t cut = 0; cut <= count; cut++) {
			struct content *cont;

			if (cut > 0)
				replay(&m, cut - 1, cut);
			/* Inodes only grow in number: room for all of them at this cut. */
			cont = calloc(m.nino, sizeof(*cont));
			for (unsigned k = 0; k < 4 + nrandom; k++) {
				uint64_t h;
				bool dup = false;

				if (k < 4)
					snprintf(mode, sizeof(mode), "%s", fixed[k]);
				else
					snprintf(mode, sizeof(mode), "random:%zu", cut * 1000 + k);
				crash_state(&m, mode, &names, cont);
				h = digest(&names, &m, cont);
				for (size_t i = 0; i < nseen && !dup; i++)
					dup = seen[i] == h;
				if (dup)
					continue;
				seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
				seen[nseen++] = h;
				printf("%zu %s %016" PRIx64 "\n", cut, mode, h);
			}
			for (size_t i = 0; i < m.nino; i++)
				free(cont[i].own.p);
			free(cont);
		}
		return 0;
	}
	fprintf(stderr, "usage: fota_crashsim count|list TRACE\n"
			"       fota_crashsim make TRACE SNAPSHOT OUT CUT MODE\n"
			"       fota_crashsim checkpoint BITMAP DATA IMAGE\n"
			"       fota_crashsim enumerate TRACE SNAPSHOT [RANDOM_PER_CUT]\n"
			"MODE: synced | all | reorder | torn | random:SEED\n");
	return 2;
}
