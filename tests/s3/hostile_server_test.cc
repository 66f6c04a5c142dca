// The S3 location against a server that misbehaves: garbled XML, endless
// pagination, more or fewer bytes than asked, a Range ignored, silence, and
// errors as HTML. Every case must end in an error (or the right bytes),
// never a crash, a hang or unbounded memory. The server is a few lines of
// sockets on 127.0.0.1, one response per connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "../core/test_util.h"
#include "backend/s3_backend.h"

namespace ks {
namespace {

// Answers each request with what `respond(request line)` returns (raw HTTP;
// an empty string means: say nothing until the client gives up).
class FakeServer {
 public:
  explicit FakeServer(std::function<std::string(const std::string&)> respond)
      : respond_(std::move(respond)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string Url() const { return "s3:http://127.0.0.1:" + std::to_string(port_) + "/bucket"; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 2000) <= 0) break;
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, size_t(n));
      }
      std::string out = respond_(req.substr(0, req.find("\r\n")));
      if (out.empty()) {
        // Silence: hold the connection until the client hangs up.
        pollfd q{c, POLLIN, 0};
        while (!stop_ && ::poll(&q, 1, 50) == 0) {}
      } else {
        (void)!::write(c, out.data(), out.size());
      }
      ::close(c);
    }
  }

  std::function<std::string(const std::string&)> respond_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string Http(int status, const std::string& body, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra + "\r\n" + body;
}

const std::string kUnversioned = "<VersioningConfiguration></VersioningConfiguration>";

std::unique_ptr<S3Backend> Client(const FakeServer& s, long stall_s = 5) {
  S3Credentials c;
  c.access_key = "AK";
  c.secret_key = "SK";
  S3Options o;
  o.retries = 1;
  o.retry_base_ms = 10;
  o.timeouts.stall_s = stall_s;
  o.timeouts.connect_ms = 2000;
  return std::make_unique<S3Backend>(*ParseS3Url(s.Url()), c, o);
}

TEST(HostileServer, GarbledListingIsAnError) {
  FakeServer s([](const std::string& line) {
    if (line.find("versioning") != std::string::npos) return Http(200, kUnversioned);
    return Http(200, "<ListBucketResult><Contents><Key>data/ab/x.0</Key><Size>12");
  });
  EXPECT_ERR(Client(s)->List(ObjectType::kPack), ErrorKind::kCorrupt);
}

TEST(HostileServer, EndlessPaginationIsAnError) {
  FakeServer s([](const std::string& line) {
    if (line.find("versioning") != std::string::npos) return Http(200, kUnversioned);
    return Http(200, "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>same"
                     "</NextContinuationToken></ListBucketResult>");
  });
  EXPECT_ERR(Client(s)->List(ObjectType::kPack), ErrorKind::kCorrupt);
}

TEST(HostileServer, MoreOrFewerBytesThanAskedAreErrors) {
  FakeServer more([](const std::string&) { return Http(206, std::string(5000, 'x')); });
  EXPECT_ERR(Client(more)->Get(ObjectType::kPack, "ab.0", 0, 100), ErrorKind::kCorrupt);
  FakeServer fewer([](const std::string&) { return Http(206, std::string(10, 'x')); });
  EXPECT_ERR(Client(fewer)->Get(ObjectType::kPack, "ab.0", 0, 100), ErrorKind::kCorrupt);
  // Promises 99 bytes, sends 10 and hangs up.
  FakeServer lying([](const std::string&) {
    return std::string("HTTP/1.1 206 X\r\nContent-Length: 99\r\nConnection: close\r\n\r\n") +
           std::string(10, 'x');
  });
  EXPECT_FALSE(Client(lying)->Get(ObjectType::kPack, "ab.0", 0, 10).has_value());
}

TEST(HostileServer, IgnoredRangeIsCutOutHere) {
  std::string whole;
  for (int i = 0; i < 1000; i++) whole += char('a' + i % 26);
  FakeServer s([&](const std::string&) { return Http(200, whole); });
  auto got = Client(s)->Get(ObjectType::kPack, "ab.0", 100, 26);
  ASSERT_OK(got);
  EXPECT_EQ(AsString(*got), whole.substr(100, 26));
}

TEST(HostileServer, SilenceTimesOutAsTransient) {
  FakeServer s([](const std::string&) { return std::string(); });
  auto r = Client(s, 1)->Get(ObjectType::kPack, "ab.0", 0, 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kIo);
  EXPECT_TRUE(r.error().transient());
}

TEST(HostileServer, HtmlErrorsAndMissingHeaders) {
  FakeServer html([](const std::string&) {
    return Http(502, "<html><body><h1>502 Bad Gateway</h1>\n<script>x</script></body></html>");
  });
  auto r = Client(html)->Get(ObjectType::kPack, "ab.0", 0, 10);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().transient());
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
  // A HEAD answered without a length.
  FakeServer nolen([](const std::string&) { return std::string("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"); });
  EXPECT_FALSE(Client(nolen)->Stat(ObjectType::kPack, "ab.0").has_value());
}

}  // namespace
}  // namespace ks
