/* tq_on_behalf.c — test tool: a frontend client that claims to act on
 * behalf of another principal (tq_client_set_on_behalf), as only the
 * broker's own HTTP API may. Submits op for tenant with that claim and prints
 * the outcome: "accepted ID" or "rejected CODE". Used by test_api.sh to show
 * the broker refuses the claim from any other process.
 * Usage: tq-on-behalf ROLE TENANT OP. Test only. */
#include "toolq/client.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: tq-on-behalf ROLE TENANT OP\n");
        return 2;
    }
    tq_client_t *c = tq_client_new(NULL);
    if (!c) return 2;
    tq_client_set_on_behalf(c, argv[1], argv[2], "forged");
    char id[37] = "";
    bool dup = false;
    int rc = tq_client_submit(c, argv[2], argv[3], "{}", NULL, 5000, id, &dup);
    if (rc == TQ_CLIENT_OK)
        printf("accepted %s\n", id);
    else
        printf("rejected %s\n", tq_client_error_code(c));
    tq_client_destroy(&c);
    return rc == TQ_CLIENT_OK ? 0 : 1;
}
