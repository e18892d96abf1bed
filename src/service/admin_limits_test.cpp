// The admin server's limits, one at a time, over loopback with raw sockets.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "service/admin_server.hpp"
#include "support/http/raw_http.hpp"

namespace user_export {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using testing::RawConnection;
using testing::status_of;

const std::string kAuth = "Authorization: Bearer secret\r\n";

class AdminLimitsTest : public ::testing::Test {
 protected:
  void start(AdminLimits limits = {}) {
    AdminHooks hooks;
    hooks.not_ready = [] { return std::optional<std::string>(); };
    hooks.metrics_text = [] { return std::string(2400, 'm'); };
    hooks.recent_runs = [](std::size_t) { return std::vector<ExportRun>{}; };
    hooks.pause = [this] { ++pauses; };
    hooks.resume = [] {};
    hooks.trigger = [](std::optional<std::string>) {};
    server_ = std::make_unique<AdminServer>("127.0.0.1:0", "secret", hooks, limits);
    server_->start();
  }
  int port() const { return server_->port(); }

  std::atomic<int> pauses{0};
  std::unique_ptr<AdminServer> server_;
};

TEST_F(AdminLimitsTest, ABodyOverTheLimitIs413BeforeItIsRead) {
  start();
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  // Declares 200 MB and sends none of it: the answer must come without waiting for the body.
  const auto begin = steady_clock::now();
  c.send_text("POST /api/pause HTTP/1.1\r\nHost: x\r\n" + kAuth +
              "Content-Length: 200000000\r\n\r\n");
  auto answer = c.read_all(seconds(3));
  EXPECT_EQ(status_of(answer), 413) << answer.value_or("");
  EXPECT_LT(steady_clock::now() - begin, seconds(2));
  EXPECT_EQ(pauses, 0);
  // At the limit it is read and acted on.
  auto ok =
      testing::exchange(port(), "POST /api/pause HTTP/1.1\r\nHost: x\r\n" + kAuth +
                                    "Content-Length: 65536\r\n\r\n" + std::string(65536, 'b'));
  EXPECT_EQ(status_of(ok), 200) << ok.value_or("");
  EXPECT_EQ(pauses, 1);
}

// A chunked body declares no length: it is counted as it comes, and the connection is closed
// once it passes the limit (an answer cannot be sent in the middle of a body).
TEST_F(AdminLimitsTest, AChunkedBodyOverTheLimitClosesTheConnection) {
  start();
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  c.send_text("POST /api/pause HTTP/1.1\r\nHost: x\r\n" + kAuth +
              "Transfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = "4000\r\n" + std::string(0x4000, 'c') + "\r\n";
  for (int i = 0; i < 16 && c.send_text(chunk, milliseconds(200)) == chunk.size(); ++i) {
  }
  EXPECT_TRUE(c.closed_by_server(seconds(2)));
  EXPECT_EQ(pauses, 0);
}

TEST_F(AdminLimitsTest, AuthenticationIsDecidedBeforeTheBody) {
  start();
  RawConnection c(port());
  c.send_text("POST /api/pause HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n");
  auto answer = c.read_all(seconds(3));
  EXPECT_EQ(status_of(answer), 401) << answer.value_or("");
  RawConnection unknown(port());
  unknown.send_text("POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n");
  EXPECT_EQ(status_of(unknown.read_all(seconds(3))), 404);
}

TEST_F(AdminLimitsTest, TooManyHeaderFieldsAre431) {
  start();
  std::string headers;
  for (int i = 0; i < 101; ++i) headers += "X-H" + std::to_string(i) + ": v\r\n";
  auto answer =
      testing::exchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n");
  EXPECT_EQ(status_of(answer), 431) << answer.value_or("");
  headers.clear();
  for (int i = 0; i < 99; ++i) headers += "X-H" + std::to_string(i) + ": v\r\n";
  answer = testing::exchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n");
  EXPECT_EQ(status_of(answer), 200) << answer.value_or("");
}

TEST_F(AdminLimitsTest, HeadersLargerThan16KiBAre431) {
  start();
  for (std::size_t size : {17u * 1024, 30u * 1024, 200u * 1024}) {
    auto answer = testing::exchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                                std::string(size, 'h') + "\r\n\r\n");
    EXPECT_EQ(status_of(answer), 431) << size << ": " << answer.value_or("").substr(0, 80);
  }
  auto answer = testing::exchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                              std::string(15 * 1024, 'h') + "\r\n\r\n");
  EXPECT_EQ(status_of(answer), 200);
}

TEST_F(AdminLimitsTest, ASlowRequestIsCutAtTheTimeout) {
  AdminLimits limits;
  limits.request_timeout = seconds(1);
  start(limits);
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  const auto begin = steady_clock::now();
  // One byte every 300 ms never lets the inactivity timeout run out; the deadline does.
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  bool cut = false;
  for (std::size_t i = 0; i < request.size() * 2 && !cut; ++i) {
    c.send_text(std::string(1, i < request.size() ? request[i] : 'z'), milliseconds(100));
    cut = c.closed_by_server(milliseconds(300));
  }
  EXPECT_TRUE(cut);
  const auto took = steady_clock::now() - begin;
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, milliseconds(2500));
}

TEST_F(AdminLimitsTest, AnIdleConnectionIsClosedAtTheTimeout) {
  AdminLimits limits;
  limits.request_timeout = seconds(1);
  start(limits);
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  EXPECT_FALSE(c.closed_by_server(milliseconds(500)));
  EXPECT_TRUE(c.closed_by_server(milliseconds(2000)));
}

TEST_F(AdminLimitsTest, ConnectionsAreCappedPerAddressAndInAll) {
  AdminLimits limits;
  limits.max_connections = 10;
  limits.max_connections_per_address = 4;
  start(limits);
  auto held = [](std::vector<RawConnection>& cs) {
    int open = 0;
    for (auto& c : cs) open += c.connected() && !c.closed_by_server(milliseconds(200)) ? 1 : 0;
    return open;
  };
  std::vector<RawConnection> one;
  for (int i = 0; i < 8; ++i) one.emplace_back(port(), "127.0.0.2");
  EXPECT_EQ(held(one), 4);
  std::vector<RawConnection> many;
  for (const char* from : {"127.0.0.3", "127.0.0.4", "127.0.0.5"}) {
    for (int i = 0; i < 4; ++i) many.emplace_back(port(), from);
  }
  EXPECT_EQ(held(many), 6);  // 4 of 127.0.0.2 + 6 = the cap of 10
}

TEST_F(AdminLimitsTest, RangesAreIgnored) {
  start();
  std::string ranges = "bytes=0-0";
  for (int i = 1; i < 2700; ++i) ranges += "," + std::to_string(i) + "-" + std::to_string(i);
  // 2,700 ranges do not fit the header limit at all; a handful is answered whole, not 206.
  auto answer = testing::exchange(
      port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nRange: " + ranges + "\r\n\r\n");
  EXPECT_EQ(status_of(answer), 431);
  answer = testing::exchange(
      port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0,1-1,2-2,3-3\r\n\r\n");
  EXPECT_EQ(status_of(answer), 200);
  EXPECT_EQ(testing::body_of(answer).size(), 2400u);
}

}  // namespace
}  // namespace user_export
