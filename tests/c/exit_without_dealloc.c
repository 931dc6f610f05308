/* Registers a service, waits until it is registered, prints REGISTERED and
 * returns from main without deallocating anything: the library still sends
 * the goodbyes at exit. Run inside a network namespace. */
#include <arpa/inet.h>
#include <dns_sd.h>
#include <poll.h>
#include <stdio.h>

static void DNSSD_API on_register(DNSServiceRef ref, DNSServiceFlags flags, DNSServiceErrorType err,
                                  const char *name, const char *type, const char *domain, void *context) {
    (void)ref; (void)flags; (void)type; (void)domain; (void)context;
    if (err == kDNSServiceErr_NoError) printf("REGISTERED %s\n", name);
    fflush(stdout);
}

int main(void) {
    DNSServiceRef ref = NULL;
    if (DNSServiceRegister(&ref, 0, 0, "Leaves Early", "_exitcheck._tcp", NULL, NULL, htons(7), 0, NULL, on_register, NULL) != 0) return 1;
    struct pollfd p = { DNSServiceRefSockFD(ref), POLLIN, 0 };
    if (poll(&p, 1, 5000) != 1 || DNSServiceProcessResult(ref) != 0) return 1;
    return 0; /* no DNSServiceRefDeallocate */
}
