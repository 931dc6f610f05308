// register_cpp: the C++17 flavour of register.c, with RAII owners for the
// DNSServiceRef and the TXTRecordRef.
//
//   register_cpp [-t SECONDS] NAME TYPE PORT [key=value | key | key= ...]
//
// Same arguments, output lines and exit codes as register.c:
//   REGISTERED <name> <regtype> <domain> / REMOVED ... / ERROR <code>

#include <dns_sd.h>

#include <arpa/inet.h>
#include <sys/select.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) { stop_requested = 1; }

// Owns a DNSServiceRef; deallocates it when it goes out of scope.
class ServiceRef {
public:
    ServiceRef() = default;
    ~ServiceRef() { reset(); }
    ServiceRef(const ServiceRef &) = delete;
    ServiceRef &operator=(const ServiceRef &) = delete;
    ServiceRef(ServiceRef &&other) noexcept : ref_(std::exchange(other.ref_, nullptr)) {}
    ServiceRef &operator=(ServiceRef &&other) noexcept
    {
        if (this != &other) {
            reset();
            ref_ = std::exchange(other.ref_, nullptr);
        }
        return *this;
    }

    // For the DNSService* calls that fill in a new ref.
    DNSServiceRef *out()
    {
        reset();
        return &ref_;
    }
    DNSServiceRef get() const { return ref_; }
    int fd() const { return ref_ ? DNSServiceRefSockFD(ref_) : -1; }
    DNSServiceErrorType process() const { return DNSServiceProcessResult(ref_); }
    void reset()
    {
        if (ref_ != nullptr) {
            DNSServiceRefDeallocate(ref_);
            ref_ = nullptr;
        }
    }

private:
    DNSServiceRef ref_ = nullptr;
};

// Owns a TXTRecordRef built in the library's own memory.
class TxtRecord {
public:
    TxtRecord() { TXTRecordCreate(&txt_, 0, nullptr); }
    ~TxtRecord() { TXTRecordDeallocate(&txt_); }
    TxtRecord(const TxtRecord &) = delete;
    TxtRecord &operator=(const TxtRecord &) = delete;

    // "key=value", "key=" or "key".
    DNSServiceErrorType set(const std::string &item)
    {
        auto eq = item.find('=');
        if (eq == std::string::npos)
            return TXTRecordSetValue(&txt_, item.c_str(), 0, nullptr);
        std::string key = item.substr(0, eq);
        std::string value = item.substr(eq + 1);
        if (value.size() > 255)
            return kDNSServiceErr_BadParam;
        return TXTRecordSetValue(&txt_, key.c_str(), static_cast<uint8_t>(value.size()),
                                 value.data());
    }
    uint16_t length() const { return TXTRecordGetLength(&txt_); }
    const void *bytes() const { return TXTRecordGetBytesPtr(&txt_); }

private:
    TXTRecordRef txt_;
};

struct Outcome {
    bool failed = false;
};

void DNSSD_API register_reply(DNSServiceRef, DNSServiceFlags flags, DNSServiceErrorType errorCode,
                              const char *name, const char *regtype, const char *domain,
                              void *context)
{
    auto *outcome = static_cast<Outcome *>(context);
    if (errorCode != kDNSServiceErr_NoError) {
        std::printf("ERROR %ld\n", static_cast<long>(errorCode));
        outcome->failed = true;
    } else if (flags & kDNSServiceFlagsAdd) {
        std::printf("REGISTERED %s %s %s\n", name, regtype, domain);
    } else {
        std::printf("REMOVED %s %s %s\n", name, regtype, domain);
    }
    std::fflush(stdout);
}

[[noreturn]] void usage()
{
    std::fprintf(stderr, "usage: register_cpp [-t SECONDS] NAME TYPE PORT [key=value ...]\n");
    std::exit(2);
}

int run(int argc, char **argv)
{
    using clock = std::chrono::steady_clock;
    std::optional<clock::time_point> deadline;
    int arg = 1;
    if (arg + 1 < argc && std::strcmp(argv[arg], "-t") == 0) {
        char *end = nullptr;
        double secs = std::strtod(argv[arg + 1], &end);
        if (*end != '\0' || secs < 0)
            usage();
        deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                      std::chrono::duration<double>(secs));
        arg += 2;
    }
    if (argc - arg < 3)
        usage();

    std::string name_arg = argv[arg];
    const char *name = name_arg == "." ? nullptr : name_arg.c_str();
    const char *regtype = argv[arg + 1];
    char *end = nullptr;
    unsigned long port = std::strtoul(argv[arg + 2], &end, 10);
    if (*end != '\0' || port > 65535)
        usage();

    ServiceRef service;
    Outcome outcome;
    {
        TxtRecord txt;
        for (int i = arg + 3; i < argc; i++) {
            DNSServiceErrorType err = txt.set(argv[i]);
            if (err != kDNSServiceErr_NoError) {
                std::fprintf(stderr, "register_cpp: bad TXT item %s: %ld\n", argv[i],
                             static_cast<long>(err));
                std::printf("ERROR %ld\n", static_cast<long>(err));
                std::fflush(stdout);
                return 1;
            }
        }
        DNSServiceErrorType err =
            DNSServiceRegister(service.out(), 0, 0, name, regtype, nullptr, nullptr,
                               htons(static_cast<uint16_t>(port)), txt.length(), txt.bytes(),
                               register_reply, &outcome);
        if (err != kDNSServiceErr_NoError) {
            std::printf("ERROR %ld\n", static_cast<long>(err));
            std::fflush(stdout);
            return 1;
        }
    } // the TXT record is freed here; the library has its own copy

    int fd = service.fd();
    if (fd < 0) {
        std::fprintf(stderr, "register_cpp: DNSServiceRefSockFD returned %d\n", fd);
        return 1;
    }

    while (!stop_requested && !outcome.failed) {
        auto wait = std::chrono::duration<double>(1.0);
        if (deadline) {
            auto left = std::chrono::duration<double>(*deadline - clock::now());
            if (left.count() <= 0)
                break;
            if (left < wait)
                wait = left;
        }
        auto micros = std::chrono::duration_cast<std::chrono::microseconds>(wait).count();
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(micros / 1000000);
        tv.tv_usec = static_cast<suseconds_t>(micros % 1000000);
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(fd, &readable);
        int n = select(fd + 1, &readable, nullptr, nullptr, &tv);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            std::perror("register_cpp: select");
            return 1;
        }
        if (n > 0 && FD_ISSET(fd, &readable)) {
            DNSServiceErrorType err = service.process();
            if (err != kDNSServiceErr_NoError) {
                std::fprintf(stderr, "register_cpp: DNSServiceProcessResult failed: %ld\n",
                             static_cast<long>(err));
                return 1;
            }
        }
    }
    return outcome.failed ? 1 : 0;
} // `service` is deallocated on every path out of here

} // namespace

int main(int argc, char **argv)
{
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return run(argc, argv);
}
