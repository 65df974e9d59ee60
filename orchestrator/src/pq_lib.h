/* SPDX-License-Identifier: Apache-2.0 */
/* libpq, loaded when a PostgreSQL store is opened rather than linked: libpq brings eleven
 * shared libraries (Kerberos, LDAP, SASL) that every command would otherwise load at start,
 * 8 to 12 ms of CPU per start (perf stat of --version) for the SQLite store most use. */
#ifndef ORCH_PQ_LIB_H
#define ORCH_PQ_LIB_H

#include <libpq-fe.h>

#include "fota/error.h"

/* The libpq functions the PostgreSQL backend calls, named as in libpq without "PQ". */
struct orch_pq {
	PGconn *(*connectdb)(const char *conninfo);
	ConnStatusType (*status)(const PGconn *conn);
	PQnoticeProcessor (*setNoticeProcessor)(PGconn *conn, PQnoticeProcessor proc, void *arg);
	void (*finish)(PGconn *conn);
	char *(*errorMessage)(const PGconn *conn);
	PGresult *(*exec)(PGconn *conn, const char *query);
	PGresult *(*execParams)(PGconn *conn, const char *command, int nParams,
				const Oid *paramTypes, const char *const *paramValues,
				const int *paramLengths, const int *paramFormats, int resultFormat);
	ExecStatusType (*resultStatus)(const PGresult *res);
	char *(*resultErrorMessage)(const PGresult *res);
	char *(*resultErrorField)(const PGresult *res, int fieldcode);
	char *(*cmdTuples)(PGresult *res);
	int (*ntuples)(const PGresult *res);
	char *(*getvalue)(const PGresult *res, int tup_num, int field_num);
	int (*getisnull)(const PGresult *res, int tup_num, int field_num);
	void (*clear)(PGresult *res);
};

/* Filled by orch_pq_load; read only after it returned FOTA_OK in the reading thread or in
 * one that started that thread. */
extern struct orch_pq libpq;

/* Loads libpq.so.5 once per process and fills libpq; an error that says why when the library
 * or one of its functions is missing. Safe from several threads. */
fota_err orch_pq_load(struct fota_error *err);

#endif
