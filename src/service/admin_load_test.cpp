// The admin server under the load that used to break it, all at once over loopback: big
// bodies, slow headers, many idle connections and many headers from three client addresses,
// while a fourth asks /healthz and must be answered within a second every time, and the
// process's resident memory must stay within a bound.

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

TEST(AdminLoad, HealthzAnswersAndMemoryStaysBoundedUnderAbuse) {
  AdminHooks hooks;
  hooks.not_ready = [] { return std::optional<std::string>(); };
  hooks.metrics_text = [] { return std::string("m 1\n"); };
  hooks.recent_runs = [](std::size_t) { return std::vector<ExportRun>{}; };
  std::atomic<int> pauses{0};
  hooks.pause = [&] { ++pauses; };
  hooks.resume = [] {};
  hooks.trigger = [](std::optional<std::string>) {};
  AdminServer server("127.0.0.1:0", "secret", hooks);  // the production limits
  server.start();
  const int port = server.port();
  // The attackers' buffers are made before memory is first measured, so what grows is the
  // server's (and the attackers' sockets and threads, which are small).
  const std::string chunk(1 << 20, 'b');
  std::string many_headers = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int h = 0; h < 2000; ++h) {
    many_headers += "X-H" + std::to_string(h) + ": " + std::string(8192, 'h') + "\r\n";
  }
  many_headers += "\r\n";
  const long rss_before = testing::resident_kib();
  ASSERT_GT(rss_before, 0);

  std::atomic<bool> done{false};
  std::atomic<int> big_body_refused{0};
  std::atomic<int> many_headers_refused{0};
  std::vector<std::thread> abusers;

  // 20 attempts to post 200 MB each, with and without the token, sending 8 MiB each.
  abusers.emplace_back([&] {
    for (int i = 0; i < 20; ++i) {
      RawConnection c(port, "127.0.0.2");
      c.send_text(std::string("POST /api/pause HTTP/1.1\r\nHost: x\r\n") +
                      (i % 2 == 0 ? "Authorization: Bearer secret\r\n" : "") +
                      "Content-Length: 200000000\r\n\r\n",
                  milliseconds(500));
      for (int mib = 0; mib < 8; ++mib) {
        if (c.send_text(chunk, milliseconds(100)) < chunk.size()) break;
      }
      const int status = testing::status_of(c.read_all(seconds(2)));
      if (status == 413 || status == 401) ++big_body_refused;
    }
  });
  // 8 connections that send their headers one byte every 400 ms.
  for (int i = 0; i < 8; ++i) {
    abusers.emplace_back([&] {
      RawConnection c(port, "127.0.0.3");
      const std::string slow = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: zzzzzzzzzzzzzzzzzzzzzz";
      for (char ch : slow) {
        if (done || c.send_text(std::string(1, ch), milliseconds(100)) == 0) break;
        std::this_thread::sleep_for(milliseconds(400));
      }
    });
  }
  // 200 idle connections, held open for 7 s (the server closes them after 5 s).
  abusers.emplace_back([&] {
    std::vector<RawConnection> idle;
    for (int i = 0; i < 200; ++i) idle.emplace_back(port, "127.0.0.4");
    for (int i = 0; i < 70 && !done; ++i) std::this_thread::sleep_for(milliseconds(100));
  });
  // 200 requests of 2,000 headers of 8 KiB each (16 MiB per request if it were all read).
  abusers.emplace_back([&] {
    for (int i = 0; i < 200 && !done; ++i) {
      RawConnection c(port, "127.0.0.5");
      c.send_text(many_headers, milliseconds(200));
      const int status = testing::status_of(c.read_all(milliseconds(500)));
      if (status == 431 || status == 0) ++many_headers_refused;
    }
  });

  // /healthz from its own address, every 100 ms for 8 s.
  milliseconds slowest{0};
  int answered = 0;
  const auto end = steady_clock::now() + seconds(8);
  while (steady_clock::now() < end) {
    const auto begin = steady_clock::now();
    RawConnection c(port, "127.0.0.9");
    c.send_text("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", seconds(1));
    auto answer = c.read_all(seconds(1));
    const auto took = std::chrono::duration_cast<milliseconds>(steady_clock::now() - begin);
    slowest = std::max(slowest, took);
    if (testing::status_of(answer) == 200 && testing::body_of(answer) == "ok\n") ++answered;
    EXPECT_LT(took, seconds(1)) << "after " << answered << " answers";
    std::this_thread::sleep_for(milliseconds(100));
  }
  const long rss_peak = testing::resident_kib();
  done = true;
  for (auto& t : abusers) t.join();
  const long rss_after = testing::resident_kib();

  EXPECT_GE(answered, 40);
  EXPECT_EQ(big_body_refused, 20);
  EXPECT_GE(many_headers_refused, 1);
  EXPECT_EQ(pauses, 0);
  // 64 connections of 40 KiB and the touched part of their thread stacks stay far below this;
  // reading one 200 MB body or one request's 16 MiB of headers would not.
  std::printf(
      "admin load: rss before %ld KiB, at the end of the load %ld KiB, after %ld KiB; "
      "slowest /healthz %lld ms over %d answers\n",
      rss_before, rss_peak, rss_after, static_cast<long long>(slowest.count()), answered);
  EXPECT_LT(rss_peak - rss_before, 16 * 1024);
  EXPECT_LT(rss_after - rss_before, 16 * 1024);
}

}  // namespace
}  // namespace user_export
