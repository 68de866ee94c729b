/* sigv4.h — AWS Signature Version 4 (header-based): canonical request,
 * string to sign, signing key chain, Authorization value. Pure functions
 * over a tq_plugin_request_t; internal to the aws_sigv4 plugin. */
#ifndef TQ_SIGV4_H
#define TQ_SIGV4_H

#include "toolq/plugin.h"

typedef struct {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL: none; else sent and signed as X-Amz-Security-Token */
    const char *region;
    const char *service;
    int content_sha256; /* send and sign X-Amz-Content-Sha256 */
} tq_sigv4_key_t;

typedef struct {
    char amz_date[17];       /* YYYYMMDDTHHMMSSZ, the X-Amz-Date value */
    char payload_hash[65];   /* hex SHA-256 of the body */
    char *canonical_request; /* malloc'd */
    char *string_to_sign;    /* malloc'd */
    char *authorization;     /* malloc'd, the Authorization header value */
} tq_sigv4_t;

/* Signs req with key at req->now. Headers signed: every request header
 * except Authorization, Expect, Transfer-Encoding, User-Agent, Connection
 * and X-Amzn-Trace-Id; plus Host (from the URL when absent), X-Amz-Date
 * and, per key, X-Amz-Security-Token and X-Amz-Content-Sha256 (these
 * replace request headers of the same name). Path: normalized and encoded
 * again (URL path as sent) except for service "s3" (as is, encoded once).
 * Returns 0, or -1 with a message (never a secret) in errbuf. */
int tq_sigv4_sign(const tq_plugin_request_t *req, const tq_sigv4_key_t *key, tq_sigv4_t *out,
                  char *errbuf, size_t errlen);
/* Frees and wipes out's strings. */
void tq_sigv4_clear(tq_sigv4_t *out);

#endif
