/* API checks through the C ABI: argument errors, stale refs, the fd
 * contract, deallocation inside a callback. Prints "PASS <n>" or the first
 * failure and exits 1. Run inside a network namespace (it registers). */
#include <arpa/inet.h>
#include <dns_sd.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(cond, what) do { if (!(cond)) { printf("FAIL %s (line %d)\n", what, __LINE__); failures++; } } while (0)

static int readable(int fd, int ms) {
    struct pollfd p = { fd, POLLIN, 0 };
    return poll(&p, 1, ms) == 1;
}

static int registered;
static void DNSSD_API on_register(DNSServiceRef ref, DNSServiceFlags flags, DNSServiceErrorType err,
                                  const char *name, const char *type, const char *domain, void *context) {
    (void)ref; (void)name; (void)type; (void)domain;
    CHECK(err == kDNSServiceErr_NoError, "register callback error");
    CHECK(flags & kDNSServiceFlagsAdd, "register callback has Add");
    CHECK(strcmp(type, "_apicheck._tcp.") == 0, "register callback regtype");
    CHECK(strcmp(domain, "local.") == 0, "register callback domain");
    CHECK(context == (void *)&registered, "context passed back");
    registered++;
}

static int browse_calls;
static void DNSSD_API on_browse_dealloc(DNSServiceRef ref, DNSServiceFlags flags, uint32_t ifindex,
                                        DNSServiceErrorType err, const char *name, const char *type,
                                        const char *domain, void *context) {
    (void)flags; (void)ifindex; (void)err; (void)name; (void)type; (void)domain; (void)context;
    browse_calls++;
    DNSServiceRefDeallocate(ref); /* legal inside its own callback */
}

static void DNSSD_API on_browse(DNSServiceRef ref, DNSServiceFlags flags, uint32_t ifindex,
                                DNSServiceErrorType err, const char *name, const char *type,
                                const char *domain, void *context) {
    (void)ref; (void)flags; (void)ifindex; (void)err; (void)name; (void)type; (void)domain; (void)context;
}

int main(void) {
    DNSServiceRef ref = NULL, browse = NULL;
    const char *long_name = "0123456789012345678901234567890123456789012345678901234567890123456789";

    CHECK(sizeof(TXTRecordRef) == 16, "TXTRecordRef is 16 bytes");
    CHECK(DNSServiceRefSockFD(NULL) == -1, "SockFD(NULL) is -1");
    CHECK(DNSServiceProcessResult(NULL) == kDNSServiceErr_BadParam, "ProcessResult(NULL)");
    DNSServiceRefDeallocate(NULL);
    CHECK(DNSServiceRegister(NULL, 0, 0, "x", "_apicheck._tcp", NULL, NULL, htons(1), 0, NULL, NULL, NULL) == kDNSServiceErr_BadParam, "Register NULL ref");
    CHECK(DNSServiceRegister(&ref, 0, 0, "x", NULL, NULL, NULL, 1, 0, NULL, NULL, NULL) == kDNSServiceErr_BadParam, "Register NULL regtype");
    CHECK(ref == NULL, "ref stays NULL on error");
    CHECK(DNSServiceRegister(&ref, 0, 0, "x", "probe", NULL, NULL, 1, 0, NULL, NULL, NULL) == kDNSServiceErr_BadParam, "Register bad regtype");
    CHECK(DNSServiceRegister(&ref, kDNSServiceFlagsNoAutoRename, 0, "x", "_apicheck._tcp", NULL, NULL, 1, 0, NULL, NULL, NULL) == kDNSServiceErr_BadParam, "NoAutoRename without callback");
    CHECK(DNSServiceRegister(&ref, kDNSServiceFlagsNoAutoRename, 0, long_name, "_apicheck._tcp", NULL, NULL, 1, 0, NULL, on_register, NULL) == kDNSServiceErr_BadParam, "NoAutoRename with a 70-byte name");
    CHECK(DNSServiceBrowse(&browse, 0, 0, "_apicheck._tcp", NULL, NULL, NULL) == kDNSServiceErr_BadParam, "Browse without callback");
    CHECK(DNSServiceBrowse(&browse, 0, 0, NULL, NULL, on_browse, NULL) == kDNSServiceErr_BadParam, "Browse NULL regtype");
    CHECK(DNSServiceResolve(&browse, 0, 0, "x", "_apicheck._tcp", NULL, NULL, NULL) == kDNSServiceErr_BadParam, "Resolve NULL domain and callback");
    CHECK(DNSServiceQueryRecord(&browse, 0, 0, "x.local.", 1, 1, NULL, NULL) == kDNSServiceErr_BadParam, "QueryRecord without callback");

    /* TXT data must be length-prefixed strings, at most 8900 bytes in all. */
    {
        static unsigned char big[9000];
        size_t at = 0;
        while (at + 256 <= sizeof big) { big[at] = 255; at += 256; }
        CHECK(DNSServiceRegister(&ref, 0, 0, "x", "_apicheck._tcp", NULL, NULL, htons(1), 5, "hello", NULL, NULL) == kDNSServiceErr_BadParam, "malformed TXT");
        CHECK(DNSServiceRegister(&ref, 0, 0, "x", "_apicheck._tcp", NULL, NULL, htons(1), (uint16_t)at, big, NULL, NULL) == kDNSServiceErr_BadParam, "TXT over 8900 bytes");
    }

    /* A 70-byte name without NoAutoRename is truncated, not refused. */
    CHECK(DNSServiceRegister(&ref, 0, 0, long_name, "_apicheck._tcp", NULL, NULL, htons(4000), 0, NULL, on_register, &registered) == kDNSServiceErr_NoError, "Register long name");
    CHECK(ref != NULL, "ref set");
    int fd = DNSServiceRefSockFD(ref);
    CHECK(fd >= 0, "SockFD valid");
    CHECK(!readable(fd, 0), "fd not readable before a result");
    CHECK(readable(fd, 5000), "fd readable once registered");
    CHECK(DNSServiceProcessResult(ref) == kDNSServiceErr_NoError, "ProcessResult");
    CHECK(registered == 1, "callback ran inside ProcessResult");
    CHECK(!readable(fd, 0), "fd quiet after ProcessResult drained it");

    /* A browse that deallocates itself inside its callback. */
    CHECK(DNSServiceBrowse(&browse, 0, 0, "_apicheck._tcp", NULL, on_browse_dealloc, NULL) == kDNSServiceErr_NoError, "Browse");
    CHECK(readable(DNSServiceRefSockFD(browse), 5000), "browse result arrives");
    CHECK(DNSServiceProcessResult(browse) == kDNSServiceErr_NoError, "ProcessResult with dealloc inside");
    CHECK(browse_calls == 1, "one callback, then no more after dealloc");
    CHECK(DNSServiceProcessResult(browse) == kDNSServiceErr_BadReference, "stale ref is BadReference");
    CHECK(DNSServiceRefSockFD(browse) == -1, "stale ref has no fd");

    DNSServiceRefDeallocate(ref);
    CHECK(DNSServiceProcessResult(ref) == kDNSServiceErr_BadReference, "deallocated ref");
    if (failures) return 1;
    printf("PASS\n");
    return 0;
}
