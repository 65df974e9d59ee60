/* SPDX-License-Identifier: Apache-2.0 */
#include "pq_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The soname of libpq's stable ABI (libpq5), not the development symlink libpq.so. */
#define PQ_SONAME "libpq.so.5"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
struct orch_pq libpq;
static bool loaded;
static char load_error[256];

/* Converts dlsym's object pointer to a function pointer through memcpy, which ISO C allows
 * where a cast between them is not. */
static int resolve(void *handle, const char *name, void *slot, size_t size)
{
	void *sym = dlsym(handle, name);

	if (!sym) {
		snprintf(load_error, sizeof(load_error), "%s has no %s", PQ_SONAME, name);
		return -1;
	}
	memcpy(slot, &sym, size);
	return 0;
}

#define RESOLVE(field) resolve(handle, "PQ" #field, &libpq.field, sizeof(libpq.field))

static void load(void)
{
	void *handle = dlopen(PQ_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!handle) {
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
		return;
	}
	if (RESOLVE(connectdb) || RESOLVE(status) || RESOLVE(setNoticeProcessor) ||
	    RESOLVE(finish) || RESOLVE(errorMessage) || RESOLVE(exec) || RESOLVE(execParams) ||
	    RESOLVE(resultStatus) || RESOLVE(resultErrorMessage) || RESOLVE(resultErrorField) ||
	    RESOLVE(cmdTuples) || RESOLVE(ntuples) || RESOLVE(getvalue) || RESOLVE(getisnull) ||
	    RESOLVE(clear)) {
		dlclose(handle);
		return;
	}
	/* Never closed: results and connections of the store live until the process ends. */
	loaded = true;
}

fota_err orch_pq_load(struct fota_error *err)
{
	pthread_once(&load_once, load);
	if (!loaded)
		return fota_error_set(err, FOTA_ERR_IO,
				      "store: a PostgreSQL store needs libpq (package libpq5): %s",
				      load_error);
	return FOTA_OK;
}
