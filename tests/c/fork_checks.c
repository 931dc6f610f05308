/* fork(): the engine thread does not exist in the child. A ref inherited
 * from the parent must neither hang nor crash there; the child's own calls
 * get a fresh engine. Prints "PASS" or the first failure. Run inside a
 * network namespace (it registers services). */
#include <arpa/inet.h>
#include <dns_sd.h>
#include <poll.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int registered;
static void DNSSD_API on_register(DNSServiceRef ref, DNSServiceFlags flags, DNSServiceErrorType err,
                                  const char *name, const char *type, const char *domain, void *context) {
    (void)ref; (void)name; (void)type; (void)domain; (void)context;
    if (err == kDNSServiceErr_NoError && (flags & kDNSServiceFlagsAdd)) registered++;
}

static int wait_registered(DNSServiceRef ref) {
    struct pollfd p = { DNSServiceRefSockFD(ref), POLLIN, 0 };
    if (poll(&p, 1, 5000) != 1) return 0;
    return DNSServiceProcessResult(ref) == kDNSServiceErr_NoError && registered == 1;
}

int main(void) {
    DNSServiceRef parent = NULL;
    if (DNSServiceRegister(&parent, 0, 0, "Parent", "_forkcheck._tcp", NULL, NULL, htons(1), 0, NULL, on_register, NULL) != 0
        || !wait_registered(parent)) {
        printf("FAIL parent registration\n");
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        registered = 0;
        /* The inherited ref: an error at once, not a hang. */
        alarm(10);
        if (DNSServiceProcessResult(parent) == kDNSServiceErr_NoError) { printf("FAIL inherited ref processed\n"); _exit(1); }
        DNSServiceRefDeallocate(parent); /* must not hang or crash */
        DNSServiceRef child = NULL;
        if (DNSServiceRegister(&child, 0, 0, "Child", "_forkcheck._tcp", NULL, NULL, htons(2), 0, NULL, on_register, NULL) != 0
            || !wait_registered(child)) {
            printf("FAIL child registration on a fresh engine\n");
            _exit(1);
        }
        DNSServiceRefDeallocate(child);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { printf("FAIL child status %d\n", status); return 1; }
    DNSServiceRefDeallocate(parent);
    printf("PASS\n");
    return 0;
}
