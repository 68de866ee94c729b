/* msg.c — msgpack encoding/decoding of tq_msg_t (see msg.h). Every input
 * byte is untrusted: sizes and types are checked, nothing is assumed. */
#include "msg.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

void tq_msg_init(tq_msg_t *msg, tq_msg_type_t type)
{
    memset(msg, 0, sizeof *msg);
    msg->version = TQ_WIRE_VERSION;
    msg->type = type;
}

void tq_msg_reset(tq_msg_t *msg)
{
    free(msg->tenant);
    free(msg->op);
    free(msg->ikey);
    free(msg->ob_role);
    free(msg->ob_tenant);
    free(msg->ob_name);
    free(msg->payload);
    free(msg->result);
    free(msg->state);
    free(msg->err_code);
    free(msg->err_msg);
    free(msg->secret);
    tq_msg_init(msg, TQ_MSG_NONE);
}

void tq_msg_setn(char **field, size_t *len_field, const char *value, size_t len)
{
    free(*field);
    *field = NULL;
    if (len_field) *len_field = 0;
    if (!value) return;
    *field = malloc(len + 1);
    if (!*field) return;
    memcpy(*field, value, len);
    (*field)[len] = '\0';
    if (len_field) *len_field = len;
}

void tq_msg_set(char **field, const char *value)
{
    tq_msg_setn(field, NULL, value, value ? strlen(value) : 0);
}

const char *tq_msg_type_name(tq_msg_type_t type)
{
    switch (type) {
    case TQ_MSG_SUBMIT:
        return "SUBMIT";
    case TQ_MSG_STATUS:
        return "STATUS";
    case TQ_MSG_WAIT:
        return "WAIT";
    case TQ_MSG_CANCEL:
        return "CANCEL";
    case TQ_MSG_STATS:
        return "STATS";
    case TQ_MSG_WHOAMI:
        return "WHOAMI";
    case TQ_MSG_ACCEPTED:
        return "ACCEPTED";
    case TQ_MSG_RESULT:
        return "RESULT";
    case TQ_MSG_REJECTED:
        return "REJECTED";
    case TQ_MSG_STATS_REPLY:
        return "STATS_REPLY";
    case TQ_MSG_WHOAMI_REPLY:
        return "WHOAMI_REPLY";
    case TQ_MSG_READY:
        return "READY";
    case TQ_MSG_JOB:
        return "JOB";
    case TQ_MSG_HEARTBEAT:
        return "HEARTBEAT";
    case TQ_MSG_DISCONNECT:
        return "DISCONNECT";
    default:
        return "?";
    }
}

static bool known_type(int64_t t)
{
    return (t >= TQ_MSG_SUBMIT && t <= TQ_MSG_WHOAMI) ||
           (t >= TQ_MSG_ACCEPTED && t <= TQ_MSG_WHOAMI_REPLY) ||
           (t >= TQ_MSG_READY && t <= TQ_MSG_DISCONNECT);
}

/* --- encode ---------------------------------------------------------------- */

static void pack_key(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, k, n);
}

static void pack_str(msgpack_packer *pk, const char *k, const char *v, size_t n)
{
    pack_key(pk, k);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, v, n);
}

int tq_msg_encode(const tq_msg_t *m, unsigned char **out, size_t *out_len)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

    int n = 2; /* v, t */
    n += m->rid != 0;
    n += m->id[0] != 0;
    n += !!m->tenant + !!m->op + !!m->ikey + !!m->payload + !!m->result + !!m->state;
    n += !!m->err_code + !!m->err_msg + !!m->secret;
    n += !!m->ob_role + !!m->ob_tenant + !!m->ob_name;
    n += m->max_attempts != 0;
    n += m->timeout_ms != 0;
    n += m->priority != 0;
    n += m->attempt != 0;
    n += m->credit != 0;
    n += m->pid != 0;
    n += m->durability != 0;
    n += m->retryable + m->dup + m->wait + m->ok + m->journal + m->batch;

    msgpack_pack_map(&pk, (size_t)n);
    pack_key(&pk, "v");
    msgpack_pack_int(&pk, m->version ? m->version : TQ_WIRE_VERSION);
    pack_key(&pk, "t");
    msgpack_pack_int(&pk, m->type);
    if (m->rid) {
        pack_key(&pk, "rid");
        msgpack_pack_uint64(&pk, m->rid);
    }
    if (m->id[0]) pack_str(&pk, "id", m->id, strlen(m->id));
    if (m->tenant) pack_str(&pk, "tn", m->tenant, strlen(m->tenant));
    if (m->op) pack_str(&pk, "op", m->op, strlen(m->op));
    if (m->ikey) pack_str(&pk, "ik", m->ikey, strlen(m->ikey));
    if (m->payload)
        pack_str(&pk, "pl", m->payload, m->payload_len ? m->payload_len : strlen(m->payload));
    if (m->result)
        pack_str(&pk, "rs", m->result, m->result_len ? m->result_len : strlen(m->result));
    if (m->state) pack_str(&pk, "st", m->state, strlen(m->state));
    if (m->err_code) pack_str(&pk, "ec", m->err_code, strlen(m->err_code));
    if (m->err_msg) pack_str(&pk, "em", m->err_msg, strlen(m->err_msg));
    if (m->secret) pack_str(&pk, "sk", m->secret, strlen(m->secret));
    if (m->ob_role) pack_str(&pk, "ob", m->ob_role, strlen(m->ob_role));
    if (m->ob_tenant) pack_str(&pk, "obt", m->ob_tenant, strlen(m->ob_tenant));
    if (m->ob_name) pack_str(&pk, "obn", m->ob_name, strlen(m->ob_name));
#define PACK_INT(key, field)                                                                       \
    if (m->field) {                                                                                \
        pack_key(&pk, key);                                                                        \
        msgpack_pack_int64(&pk, m->field);                                                         \
    }
    PACK_INT("ma", max_attempts)
    PACK_INT("to", timeout_ms)
    PACK_INT("pr", priority)
    PACK_INT("at", attempt)
    PACK_INT("cr", credit)
    PACK_INT("pid", pid)
    PACK_INT("du", durability)
#undef PACK_INT
#define PACK_BOOL(key, field)                                                                      \
    if (m->field) {                                                                                \
        pack_key(&pk, key);                                                                        \
        msgpack_pack_true(&pk);                                                                    \
    }
    PACK_BOOL("rt", retryable)
    PACK_BOOL("dup", dup)
    PACK_BOOL("w", wait)
    PACK_BOOL("ok", ok)
    PACK_BOOL("jn", journal)
    PACK_BOOL("bt", batch)
#undef PACK_BOOL
    *out = (unsigned char *)sb.data;
    *out_len = sb.size;
    return 0;
}

/* --- decode ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80) return 1;
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || len > n || p[0] > 0xf4) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0; /* overlong, surrogate or beyond U+10FFFF */
    return len;
}

static bool utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        if (!k) return false;
        i += k;
    }
    return true;
}

/* Replaces every invalid byte with '?' (error texts from peers: kept, made safe). */
static void utf8_sanitize(char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        if (!k) {
            s[i] = '?';
            k = 1;
        }
        i += k;
    }
}

static int get_str(const msgpack_object *o, const char *key, size_t max, char **field,
                   size_t *len_field, tq_error_t *err)
{
    const char *p;
    size_t n;
    if (o->type == MSGPACK_OBJECT_STR) {
        p = o->via.str.ptr;
        n = o->via.str.size;
    } else if (o->type == MSGPACK_OBJECT_BIN) {
        p = o->via.bin.ptr;
        n = o->via.bin.size;
    } else {
        return tq_error_set(err, "malformed_frame", "field '%s' must be a string", key);
    }
    if (n > max)
        return tq_error_set(err, "malformed_frame", "field '%s' is longer than %zu bytes", key,
                            max);
    bool text = !len_field; /* names and messages, not JSON payloads */
    bool message = text && (strcmp(key, "ec") == 0 || strcmp(key, "em") == 0);
    if (text && memchr(p, '\0', n))
        return tq_error_set(err, "malformed_frame", "field '%s' contains a NUL byte", key);
    if (text && !message && !utf8_valid(p, n))
        return tq_error_set(err, "malformed_frame", "field '%s' is not valid UTF-8", key);
    tq_msg_setn(field, len_field, p, n);
    if (!*field) return tq_error_set(err, "internal", "out of memory");
    if (message) utf8_sanitize(*field, n);
    return 0;
}

static int get_int(const msgpack_object *o, const char *key, int64_t *out, tq_error_t *err)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > INT64_MAX)
            return tq_error_set(err, "malformed_frame", "field '%s' is out of range", key);
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    return tq_error_set(err, "malformed_frame", "field '%s' must be an integer", key);
}

static int get_bool(const msgpack_object *o, const char *key, bool *out, tq_error_t *err)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return tq_error_set(err, "malformed_frame", "field '%s' must be a boolean", key);
    *out = o->via.boolean;
    return 0;
}

static bool key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

static int decode_field(const msgpack_object *k, const msgpack_object *v, size_t max_len,
                        tq_msg_t *m, tq_error_t *err)
{
    int64_t i = 0;
    if (key_is(k, "v")) {
        if (get_int(v, "v", &i, err)) return -1;
        m->version = (int)(i > 1000000 || i < -1000000 ? -1 : i);
        return 0;
    }
    if (key_is(k, "t")) {
        if (get_int(v, "t", &i, err)) return -1;
        m->type = known_type(i) ? (tq_msg_type_t)i : TQ_MSG_NONE;
        return 0;
    }
    if (key_is(k, "rid")) {
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return tq_error_set(err, "malformed_frame", "field 'rid' must be an unsigned integer");
        m->rid = v->via.u64;
        return 0;
    }
    if (key_is(k, "id")) {
        char *s = NULL;
        if (get_str(v, "id", TQ_JOB_ID_LEN, &s, NULL, err)) return -1;
        snprintf(m->id, sizeof m->id, "%s", s);
        free(s);
        return 0;
    }
    if (key_is(k, "tn")) return get_str(v, "tn", TQ_WIRE_STR_MAX, &m->tenant, NULL, err);
    if (key_is(k, "op")) return get_str(v, "op", TQ_WIRE_STR_MAX, &m->op, NULL, err);
    if (key_is(k, "ik")) return get_str(v, "ik", TQ_WIRE_STR_MAX, &m->ikey, NULL, err);
    if (key_is(k, "st")) return get_str(v, "st", 32, &m->state, NULL, err);
    if (key_is(k, "ec")) return get_str(v, "ec", TQ_WIRE_STR_MAX, &m->err_code, NULL, err);
    if (key_is(k, "em")) return get_str(v, "em", 4096, &m->err_msg, NULL, err);
    if (key_is(k, "ob")) return get_str(v, "ob", 32, &m->ob_role, NULL, err);
    if (key_is(k, "obt")) return get_str(v, "obt", TQ_WIRE_STR_MAX, &m->ob_tenant, NULL, err);
    if (key_is(k, "obn")) return get_str(v, "obn", TQ_WIRE_STR_MAX, &m->ob_name, NULL, err);
    if (key_is(k, "sk")) return get_str(v, "sk", TQ_WIRE_SECRET_MAX, &m->secret, NULL, err);
    if (key_is(k, "pl")) return get_str(v, "pl", max_len, &m->payload, &m->payload_len, err);
    if (key_is(k, "rs")) return get_str(v, "rs", max_len, &m->result, &m->result_len, err);
    if (key_is(k, "ma")) return get_int(v, "ma", &m->max_attempts, err);
    if (key_is(k, "to")) return get_int(v, "to", &m->timeout_ms, err);
    if (key_is(k, "pr")) return get_int(v, "pr", &m->priority, err);
    if (key_is(k, "at")) return get_int(v, "at", &m->attempt, err);
    if (key_is(k, "cr")) return get_int(v, "cr", &m->credit, err);
    if (key_is(k, "pid")) return get_int(v, "pid", &m->pid, err);
    if (key_is(k, "rt")) return get_bool(v, "rt", &m->retryable, err);
    if (key_is(k, "dup")) return get_bool(v, "dup", &m->dup, err);
    if (key_is(k, "w")) return get_bool(v, "w", &m->wait, err);
    if (key_is(k, "ok")) return get_bool(v, "ok", &m->ok, err);
    if (key_is(k, "jn")) return get_bool(v, "jn", &m->journal, err);
    if (key_is(k, "bt")) return get_bool(v, "bt", &m->batch, err);
    if (key_is(k, "du")) return get_int(v, "du", &m->durability, err);
    return 0; /* unknown key: ignored */
}

/* Structural pre-scan before msgpack-c sees the bytes: the frame must be one
 * map of at most TQ_WIRE_MAX_KEYS entries whose keys are strings and whose
 * values are scalars, and every declared length must fit in the bytes that
 * remain. This keeps a 5-byte frame that claims a map of four billion
 * entries, or a 16 MiB frame of millions of tiny pairs (msgpack-c allocates
 * 48 bytes per pair), from ever reaching an allocator. */
static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static int skip_scalar(const unsigned char *p, size_t len, size_t *off)
{
    if (*off >= len) return -1;
    unsigned char c = p[(*off)++];
    uint64_t body = 0;
    int hdr = 0;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
        return 0;             /* fixint, nil, bool */
    if ((c & 0xe0) == 0xa0) { /* fixstr */
        body = c & 0x1f;
    } else {
        switch (c) {
        case 0xcc:
        case 0xd0:
            body = 1;
            break; /* 8-bit ints */
        case 0xcd:
        case 0xd1:
            body = 2;
            break;
        case 0xce:
        case 0xd2:
        case 0xca:
            body = 4;
            break;
        case 0xcf:
        case 0xd3:
        case 0xcb:
            body = 8;
            break;
        case 0xd9:
        case 0xc4:
            hdr = 1;
            break; /* str8 / bin8 */
        case 0xda:
        case 0xc5:
            hdr = 2;
            break;
        case 0xdb:
        case 0xc6:
            hdr = 4;
            break;
        default:
            return -1; /* containers, ext, reserved */
        }
        if (hdr) {
            if (len - *off < (size_t)hdr) return -1;
            body = be(p + *off, hdr);
            *off += (size_t)hdr;
        }
    }
    if (body > len - *off) return -1;
    *off += (size_t)body;
    return 0;
}

static int prescan(const unsigned char *p, size_t len)
{
    size_t off = 1;
    uint64_t n;
    if ((p[0] & 0xf0) == 0x80) {
        n = p[0] & 0x0f;
    } else if (p[0] == 0xde && len >= 3) {
        n = be(p + 1, 2);
        off = 3;
    } else if (p[0] == 0xdf && len >= 5) {
        n = be(p + 1, 4);
        off = 5;
    } else {
        return -1;
    }
    if (n > TQ_WIRE_MAX_KEYS || n > (len - off) / 2) return -1;
    for (uint64_t i = 0; i < 2 * n; i++) {
        bool key = i % 2 == 0;
        if (key && off < len && !((p[off] & 0xe0) == 0xa0 || (p[off] >= 0xd9 && p[off] <= 0xdb)))
            return -1; /* keys are strings (fixstr, str8/16/32) */
        if (skip_scalar(p, len, &off)) return -1;
    }
    return off == len ? 0 : -1;
}

int tq_msg_decode(const void *data, size_t len, size_t max_len, tq_msg_t *m, tq_error_t *err)
{
    tq_msg_init(m, TQ_MSG_NONE);
    m->version = 0;
    if (len > max_len)
        return tq_error_set(err, "frame_too_large", "frame of %zu bytes exceeds the %zu byte limit",
                            len, max_len);
    if (len == 0) return tq_error_set(err, "malformed_frame", "empty frame");
    if (prescan(data, len))
        return tq_error_set(err, "malformed_frame",
                            "frame is not one msgpack map of at most %d string-keyed scalar fields",
                            TQ_WIRE_MAX_KEYS);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = -1;
    msgpack_unpack_return r = msgpack_unpack_next(&up, data, len, &off);
    if (r != MSGPACK_UNPACK_SUCCESS) {
        tq_error_set(err, "malformed_frame", "frame is not valid msgpack");
        goto done;
    }
    if (off != len) {
        tq_error_set(err, "malformed_frame", "trailing bytes after the message");
        goto done;
    }
    if (up.data.type != MSGPACK_OBJECT_MAP) {
        tq_error_set(err, "malformed_frame", "message must be a msgpack map");
        goto done;
    }
    const msgpack_object_map *map = &up.data.via.map;
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *k = &map->ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR) {
            tq_error_set(err, "malformed_frame", "map keys must be strings");
            goto done;
        }
        if (decode_field(k, &map->ptr[i].val, max_len, m, err)) goto done;
    }
    if (m->version != TQ_WIRE_VERSION) {
        tq_error_set(err, "unsupported_version", "protocol version %d is not supported (want %d)",
                     m->version, TQ_WIRE_VERSION);
        goto done;
    }
    if (m->type == TQ_MSG_NONE) {
        tq_error_set(err, "unknown_type", "missing or unknown message type");
        goto done;
    }
    rc = 0;
done:
    msgpack_unpacked_destroy(&up);
    if (rc) tq_msg_reset(m);
    return rc;
}

int tq_msg_send(void *socket, const void *identity, size_t identity_len, const tq_msg_t *msg,
                int flags)
{
    unsigned char *buf;
    size_t n;
    if (tq_msg_encode(msg, &buf, &n)) return -1;
    int rc = 0;
    if (identity && zmq_send(socket, identity, identity_len, ZMQ_SNDMORE | flags) < 0)
        rc = -1;
    else if (zmq_send(socket, buf, n, flags) < 0)
        rc = -1;
    free(buf);
    return rc;
}
