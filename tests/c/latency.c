/* Latency through the C API, for the closing notes and README (a
 * measurement, not a check). Run inside a network namespace.
 *   latency register N      N registrations of distinct types, one after the
 *                           other: prints "register <ms>" from the
 *                           DNSServiceRegister call to its callback
 *   latency browse TYPE     one browse: prints "browse <ms>" from the
 *                           DNSServiceBrowse call to the first add (this
 *                           process's engine starts cold, nothing cached) */
#include <arpa/inet.h>
#include <dns_sd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

static int done;
static void DNSSD_API on_register(DNSServiceRef r, DNSServiceFlags f, DNSServiceErrorType e, const char *n,
                                  const char *t, const char *d, void *c) {
    (void)r; (void)f; (void)n; (void)t; (void)d; (void)c;
    if (e == 0) done = 1;
}
static void DNSSD_API on_browse(DNSServiceRef r, DNSServiceFlags f, uint32_t i, DNSServiceErrorType e,
                                const char *n, const char *t, const char *d, void *c) {
    (void)r; (void)i; (void)n; (void)t; (void)d; (void)c;
    if (e == 0 && (f & kDNSServiceFlagsAdd)) done = 1;
}

static int wait_done(DNSServiceRef ref) {
    done = 0;
    while (!done) {
        struct pollfd p = { DNSServiceRefSockFD(ref), POLLIN, 0 };
        if (poll(&p, 1, 5000) != 1 || DNSServiceProcessResult(ref) != 0) return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "register") == 0) {
        int n = atoi(argv[2]);
        DNSServiceRef refs[64];
        for (int i = 0; i < n && i < 64; i++) {
            char type[32];
            snprintf(type, sizeof type, "_lat%d._tcp", i);
            double start = now_ms();
            if (DNSServiceRegister(&refs[i], 0, 0, "Latency", type, NULL, NULL, htons(1000 + i), 0, NULL, on_register, NULL) != 0
                || !wait_done(refs[i]))
                return 1;
            printf("register %.1f\n", now_ms() - start);
            fflush(stdout);
        }
        printf("READY\n");
        fflush(stdout);
        for (;;) {
            struct pollfd p = { 0, POLLIN, 0 };
            poll(&p, 0, 1000);
        }
    }
    if (argc == 3 && strcmp(argv[1], "browse") == 0) {
        DNSServiceRef ref;
        double start = now_ms();
        if (DNSServiceBrowse(&ref, 0, 0, argv[2], NULL, on_browse, NULL) != 0 || !wait_done(ref)) return 1;
        printf("browse %.1f\n", now_ms() - start);
        return 0;
    }
    return 2;
}
