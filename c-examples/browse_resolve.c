/*
 * browse_resolve: browse for a service type and resolve every instance found.
 *
 *   browse_resolve [-t SECONDS] TYPE          (default: 10 seconds)
 *
 * Prints (one line each, flushed):
 *   ADD <name> <regtype> <domain> <ifindex>         browse: instance appeared
 *   REMOVE <name> <regtype> <domain> <ifindex>      browse: instance went away
 *   RESOLVED <fullname> <hosttarget> <port> <ifindex>[ key=value| key ...]
 *                                                   resolve result, port in host
 *                                                   order, then the TXT items
 *   ERROR <code>                                    a browse or resolve error
 *
 * TXT keys and values are printed byte for byte except control bytes, space,
 * DEL and '\', which are written as \xHH (so items never contain spaces).
 * An item with an empty key and no value (the empty TXT record) is not
 * printed.
 *
 * Each ADD starts a DNSServiceResolve; the resolve callback deallocates its
 * own ref from inside the callback after printing. On exit (timeout, SIGINT
 * or SIGTERM) every ref still open is deallocated and the status is 0, or 1
 * if the browse itself failed.
 */
#define _POSIX_C_SOURCE 200809L

#include <dns_sd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#define MAX_RESOLVES 64

struct resolve_slot {
    DNSServiceRef ref; /* NULL when the slot is free */
};

static struct resolve_slot slots[MAX_RESOLVES];
static volatile sig_atomic_t stop_requested = 0;
static int browse_failed = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_escaped(const unsigned char *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = bytes[i];
        if (c <= 0x20 || c == 0x7f || c == '\\')
            printf("\\x%02X", c);
        else
            putchar(c);
    }
}

static void DNSSD_API resolve_reply(DNSServiceRef sdRef, DNSServiceFlags flags,
                                    uint32_t interfaceIndex, DNSServiceErrorType errorCode,
                                    const char *fullname, const char *hosttarget,
                                    uint16_t port, uint16_t txtLen,
                                    const unsigned char *txtRecord, void *context)
{
    struct resolve_slot *slot = context;
    (void)flags;

    if (errorCode != kDNSServiceErr_NoError) {
        printf("ERROR %ld\n", (long)errorCode);
    } else {
        printf("RESOLVED %s %s %u %lu", fullname, hosttarget, (unsigned)ntohs(port),
               (unsigned long)interfaceIndex);
        uint16_t count = TXTRecordGetCount(txtLen, txtRecord);
        for (uint16_t i = 0; i < count; i++) {
            char key[256];
            uint8_t value_len = 0;
            const void *value = NULL;
            if (TXTRecordGetItemAtIndex(txtLen, txtRecord, i, sizeof key, key, &value_len,
                                        &value) != kDNSServiceErr_NoError)
                continue;
            if (key[0] == '\0' && value == NULL)
                continue;
            putchar(' ');
            print_escaped((const unsigned char *)key, strlen(key));
            if (value != NULL) {
                putchar('=');
                print_escaped(value, value_len);
            }
        }
        putchar('\n');
    }
    fflush(stdout);

    /* One answer is all we wanted: end this resolve from inside its own
     * callback. */
    DNSServiceRefDeallocate(sdRef);
    slot->ref = NULL;
}

static void start_resolve(uint32_t interfaceIndex, const char *name, const char *regtype,
                          const char *domain)
{
    struct resolve_slot *slot = NULL;
    for (int i = 0; i < MAX_RESOLVES; i++) {
        if (slots[i].ref == NULL) {
            slot = &slots[i];
            break;
        }
    }
    if (slot == NULL) {
        fprintf(stderr, "browse_resolve: too many resolves in progress, not resolving %s\n",
                name);
        return;
    }
    DNSServiceErrorType err = DNSServiceResolve(&slot->ref, 0, interfaceIndex, name, regtype,
                                                domain, resolve_reply, slot);
    if (err != kDNSServiceErr_NoError) {
        slot->ref = NULL;
        printf("ERROR %ld\n", (long)err);
        fflush(stdout);
    }
}

static void DNSSD_API browse_reply(DNSServiceRef sdRef, DNSServiceFlags flags,
                                   uint32_t interfaceIndex, DNSServiceErrorType errorCode,
                                   const char *serviceName, const char *regtype,
                                   const char *replyDomain, void *context)
{
    (void)sdRef;
    (void)context;
    if (errorCode != kDNSServiceErr_NoError) {
        printf("ERROR %ld\n", (long)errorCode);
        fflush(stdout);
        browse_failed = 1;
        return;
    }
    if (flags & kDNSServiceFlagsAdd) {
        printf("ADD %s %s %s %lu\n", serviceName, regtype, replyDomain,
               (unsigned long)interfaceIndex);
        fflush(stdout);
        start_resolve(interfaceIndex, serviceName, regtype, replyDomain);
    } else {
        printf("REMOVE %s %s %s %lu\n", serviceName, regtype, replyDomain,
               (unsigned long)interfaceIndex);
        fflush(stdout);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: browse_resolve [-t SECONDS] TYPE\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double run_for = 10;
    int arg = 1;

    if (arg + 1 < argc && strcmp(argv[arg], "-t") == 0) {
        char *end;
        run_for = strtod(argv[arg + 1], &end);
        if (*end != '\0' || run_for < 0)
            usage();
        arg += 2;
    }
    if (argc - arg != 1)
        usage();
    const char *regtype = argv[arg];

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    DNSServiceRef browse = NULL;
    DNSServiceErrorType err = DNSServiceBrowse(&browse, 0, 0, regtype, NULL, browse_reply, NULL);
    if (err != kDNSServiceErr_NoError) {
        printf("ERROR %ld\n", (long)err);
        fflush(stdout);
        return 1;
    }
    int browse_fd = DNSServiceRefSockFD(browse);
    if (browse_fd < 0) {
        fprintf(stderr, "browse_resolve: DNSServiceRefSockFD returned %d\n", browse_fd);
        DNSServiceRefDeallocate(browse);
        return 1;
    }

    int status = 0;
    double deadline = now_seconds() + run_for;
    while (!stop_requested && !browse_failed) {
        double left = deadline - now_seconds();
        if (left <= 0)
            break;
        double wait = left < 1.0 ? left : 1.0;

        /* Remember which ref each fd belonged to when select() was called. */
        DNSServiceRef polled[MAX_RESOLVES];
        int polled_fd[MAX_RESOLVES];
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(browse_fd, &readable);
        int max_fd = browse_fd;
        for (int i = 0; i < MAX_RESOLVES; i++) {
            polled[i] = slots[i].ref;
            polled_fd[i] = -1;
            if (polled[i] == NULL)
                continue;
            int fd = DNSServiceRefSockFD(polled[i]);
            if (fd < 0 || fd >= FD_SETSIZE)
                continue;
            polled_fd[i] = fd;
            FD_SET(fd, &readable);
            if (fd > max_fd)
                max_fd = fd;
        }

        struct timeval tv;
        tv.tv_sec = (time_t)wait;
        tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec) * 1e6);
        int n = select(max_fd + 1, &readable, NULL, NULL, &tv);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("browse_resolve: select");
            status = 1;
            break;
        }
        if (n == 0)
            continue;

        /* Resolves first: a resolve callback only ever ends its own ref, so
         * every other polled ref stays valid. The browse goes last because
         * its callback starts new resolves, which could reuse a slot (or an
         * address) of one that just ended. */
        for (int i = 0; i < MAX_RESOLVES; i++) {
            if (polled_fd[i] < 0 || slots[i].ref != polled[i])
                continue;
            if (!FD_ISSET(polled_fd[i], &readable))
                continue;
            err = DNSServiceProcessResult(slots[i].ref);
            if (err != kDNSServiceErr_NoError) {
                fprintf(stderr, "browse_resolve: DNSServiceProcessResult (resolve) failed: %ld\n",
                        (long)err);
                if (slots[i].ref == polled[i]) {
                    DNSServiceRefDeallocate(slots[i].ref);
                    slots[i].ref = NULL;
                }
            }
        }
        if (FD_ISSET(browse_fd, &readable)) {
            err = DNSServiceProcessResult(browse);
            if (err != kDNSServiceErr_NoError) {
                fprintf(stderr, "browse_resolve: DNSServiceProcessResult (browse) failed: %ld\n",
                        (long)err);
                status = 1;
                break;
            }
        }
    }
    if (browse_failed)
        status = 1;

    for (int i = 0; i < MAX_RESOLVES; i++) {
        if (slots[i].ref != NULL) {
            DNSServiceRefDeallocate(slots[i].ref);
            slots[i].ref = NULL;
        }
    }
    DNSServiceRefDeallocate(browse);
    return status;
}
