/* curvekey.h — CURVE key files (the zcert format `toolq keygen` writes) for
 * the tcp:// side of a ZeroMQ socket.
 *
 * A zcert public file NAME.key holds `public-key = "<Z85>"` (and metadata);
 * NAME.key_secret also holds `secret-key = "<Z85>"` and is 0600. This reader
 * is small on purpose: libtoolq does not link czmq.
 *
 * Owns: reading those two lines and setting a client's CURVE options. Must
 * never: log or return a secret key in an error message. */
#ifndef TQ_CURVEKEY_H
#define TQ_CURVEKEY_H

#include <stdbool.h>
#include <stddef.h>

#define TQ_CURVE_Z85_LEN 40

/* Reads the Z85 public key (and the secret key when sec is not NULL) of a
 * zcert file. 0, or -1 with why in errbuf. */
int tq_curve_read(const char *path, char pub[TQ_CURVE_Z85_LEN + 1], char sec[TQ_CURVE_Z85_LEN + 1],
                  char *errbuf, size_t errlen);

/* A tcp:// endpoint (only those get CURVE; ipc keeps the uid rule). */
bool tq_curve_endpoint(const char *endpoint);

/* Makes sock a CURVE client: the broker's public key from server_key_file
 * (a .key or .key_secret file), its own pair from key_file (.key_secret).
 * 0, or -1 with why in errbuf. */
int tq_curve_client(void *sock, const char *server_key_file, const char *key_file, char *errbuf,
                    size_t errlen);

#endif
