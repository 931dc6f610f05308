/*
 * register: advertise one service with DNSServiceRegister.
 *
 *   register [-t SECONDS] NAME TYPE PORT [key=value | key | key= ...]
 *
 * NAME "." means the default name (NULL: the computer's name). TXT items:
 * "key=value", "key=" (empty value) or "key" (no value).
 *
 * Prints one line per register callback and flushes it:
 *   REGISTERED <name> <regtype> <domain>   the name is registered (Add set)
 *   REMOVED <name> <regtype> <domain>      the registration was lost (Add clear)
 *   ERROR <code>                           an error (the program then exits 1)
 *
 * Runs until SIGINT or SIGTERM (or for SECONDS with -t), then deallocates
 * the registration and exits 0.
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

static volatile sig_atomic_t stop_requested = 0;
static int callback_error = 0;

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

static void DNSSD_API register_reply(DNSServiceRef sdRef, DNSServiceFlags flags,
                                     DNSServiceErrorType errorCode, const char *name,
                                     const char *regtype, const char *domain, void *context)
{
    (void)sdRef;
    (void)context;
    if (errorCode != kDNSServiceErr_NoError) {
        printf("ERROR %ld\n", (long)errorCode);
        callback_error = 1;
    } else if (flags & kDNSServiceFlagsAdd) {
        printf("REGISTERED %s %s %s\n", name, regtype, domain);
    } else {
        printf("REMOVED %s %s %s\n", name, regtype, domain);
    }
    fflush(stdout);
}

static void usage(void)
{
    fprintf(stderr, "usage: register [-t SECONDS] NAME TYPE PORT [key=value ...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double run_for = -1;
    int arg = 1;

    if (arg + 1 < argc && strcmp(argv[arg], "-t") == 0) {
        char *end;
        run_for = strtod(argv[arg + 1], &end);
        if (*end != '\0' || run_for < 0)
            usage();
        arg += 2;
    }
    if (argc - arg < 3)
        usage();

    const char *name = argv[arg];
    const char *regtype = argv[arg + 1];
    char *end;
    unsigned long port = strtoul(argv[arg + 2], &end, 10);
    if (*end != '\0' || port > 65535)
        usage();
    if (strcmp(name, ".") == 0)
        name = NULL;

    /* Build the TXT record. The 256-byte buffer is only a starting point:
     * the library moves to its own memory when the record outgrows it. */
    char txt_buffer[256];
    TXTRecordRef txt;
    TXTRecordCreate(&txt, sizeof txt_buffer, txt_buffer);
    for (int i = arg + 3; i < argc; i++) {
        char *item = argv[i];
        char *eq = strchr(item, '=');
        DNSServiceErrorType err;
        if (eq == NULL) {
            err = TXTRecordSetValue(&txt, item, 0, NULL);
        } else {
            size_t vlen = strlen(eq + 1);
            if (vlen > 255) {
                fprintf(stderr, "register: value of %s is longer than 255 bytes\n", item);
                return 2;
            }
            *eq = '\0';
            err = TXTRecordSetValue(&txt, item, (uint8_t)vlen, eq + 1);
            *eq = '=';
        }
        if (err != kDNSServiceErr_NoError) {
            fprintf(stderr, "register: TXTRecordSetValue(%s) failed: %ld\n", item, (long)err);
            printf("ERROR %ld\n", (long)err);
            fflush(stdout);
            TXTRecordDeallocate(&txt);
            return 1;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    DNSServiceRef ref = NULL;
    DNSServiceErrorType err = DNSServiceRegister(&ref, 0, 0, name, regtype, NULL, NULL,
                                                 htons((uint16_t)port),
                                                 TXTRecordGetLength(&txt),
                                                 TXTRecordGetBytesPtr(&txt),
                                                 register_reply, NULL);
    /* The library keeps its own copy of the TXT data. */
    TXTRecordDeallocate(&txt);
    if (err != kDNSServiceErr_NoError) {
        printf("ERROR %ld\n", (long)err);
        fflush(stdout);
        return 1;
    }

    int fd = DNSServiceRefSockFD(ref);
    if (fd < 0) {
        fprintf(stderr, "register: DNSServiceRefSockFD returned %d\n", fd);
        DNSServiceRefDeallocate(ref);
        return 1;
    }

    int status = 0;
    double deadline = run_for >= 0 ? now_seconds() + run_for : 0;
    while (!stop_requested && !callback_error) {
        double wait = 1.0;
        if (run_for >= 0) {
            double left = deadline - now_seconds();
            if (left <= 0)
                break;
            if (left < wait)
                wait = left;
        }
        struct timeval tv;
        tv.tv_sec = (time_t)wait;
        tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec) * 1e6);
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(fd, &readable);
        int n = select(fd + 1, &readable, NULL, NULL, &tv);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("register: select");
            status = 1;
            break;
        }
        if (n > 0 && FD_ISSET(fd, &readable)) {
            err = DNSServiceProcessResult(ref);
            if (err != kDNSServiceErr_NoError) {
                fprintf(stderr, "register: DNSServiceProcessResult failed: %ld\n", (long)err);
                status = 1;
                break;
            }
        }
    }
    if (callback_error)
        status = 1;

    DNSServiceRefDeallocate(ref);
    return status;
}
