#include "service/admin_server.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.hpp"
#include "common/time_format.hpp"

namespace user_export {
namespace {

constexpr const char* kPrometheusType = "text/plain; version=0.0.4; charset=utf-8";

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

/// Compares without an early exit, so timing does not tell how much of a token was right.
bool same_token(const std::string& given, const std::string& expected) {
  if (given.size() != expected.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  }
  return diff == 0;
}

}  // namespace

std::string runs_json(const std::vector<ExportRun>& runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : runs) {
    out.push_back({
        {"runId", r.run_id},
        {"groupId", r.group_id.str()},
        {"slot", format_iso8601(SystemTime{r.slot})},
        {"state", to_string(r.state)},
        {"users", r.item_count},
        {"rows", r.rows},
        {"bytes", r.bytes},
        {"attempts", r.attempts},
        {"leaseOwner", r.lease_owner},
        {"objectKey", r.object_key},
        {"error", r.last_error},
        {"createdAt", format_iso8601_ms(r.created_at)},
        {"updatedAt", format_iso8601_ms(r.updated_at)},
        {"seconds", std::chrono::duration<double>(r.updated_at - r.created_at).count()},
    });
  }
  return out.dump();
}

AdminServer::AdminServer(std::string addr, std::string token, AdminHooks hooks)
    : addr_(std::move(addr)),
      token_(std::move(token)),
      hooks_(std::move(hooks)),
      server_(std::make_unique<httplib::Server>()) {
  routes();
}

AdminServer::~AdminServer() {
  stop();
}

void AdminServer::routes() {
  auto& s = *server_;
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second instance
  // share the port instead of failing to start.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (auto why = hooks_.not_ready()) {
      res.status = 503;
      res.set_content("not ready: " + *why + "\n", "text/plain");
    } else {
      res.set_content("ready\n", "text/plain");
    }
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(hooks_.metrics_text(), kPrometheusType);
  });
  s.Get("/api/runs", [this](const httplib::Request& req, httplib::Response& res) {
    std::size_t limit = 100;
    if (req.has_param("limit")) {
      try {
        limit = std::clamp<std::size_t>(std::stoul(req.get_param_value("limit")), 1, 10000);
      } catch (const std::exception&) {
        return reply(res, 400, {{"error", "limit must be a number between 1 and 10000"}});
      }
    }
    res.set_content(runs_json(hooks_.recent_runs(limit)) + "\n", "application/json");
  });
  // Every POST passes this check first; a refused request changes nothing.
  auto authorised = [this](const httplib::Request& req, httplib::Response& res) {
    if (token_.empty()) {
      reply(res, 403,
            {{"error",
              "POST endpoints are disabled because no admin token is configured; set "
              "USER_EXPORT_ADMIN_TOKEN and restart"}});
      return false;
    }
    const std::string header = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    if (header.rfind(prefix, 0) != 0 || !same_token(header.substr(prefix.size()), token_)) {
      res.set_header("WWW-Authenticate", "Bearer");
      reply(res, 401,
            {{"error",
              "missing or wrong bearer token; send Authorization: Bearer <token> with "
              "the value of USER_EXPORT_ADMIN_TOKEN"}});
      return false;
    }
    return true;
  };
  s.Post("/api/pause", [this, authorised](const httplib::Request& req, httplib::Response& res) {
    if (!authorised(req, res)) return;
    hooks_.pause();
    reply(res, 200, {{"paused", true}});
  });
  s.Post("/api/resume", [this, authorised](const httplib::Request& req, httplib::Response& res) {
    if (!authorised(req, res)) return;
    hooks_.resume();
    reply(res, 200, {{"paused", false}});
  });
  s.Post("/api/trigger", [this, authorised](const httplib::Request& req, httplib::Response& res) {
    if (!authorised(req, res)) return;
    std::optional<std::string> group;
    if (req.has_param("group")) group = req.get_param_value("group");
    try {
      hooks_.trigger(group);
    } catch (const Error& e) {
      return reply(res, e.code() == ErrorCode::kInvalidInput ? 400 : 500, {{"error", e.what()}});
    }
    reply(res, 202, {{"triggered", true}, {"group", group ? nlohmann::json(*group) : nullptr}});
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        reply(res, 500, {{"error", what}});
      });
}

void AdminServer::start() {
  auto colon = addr_.rfind(':');
  if (colon == std::string::npos) {
    throw Error(ErrorCode::kConfig, "admin.addr " + addr_ + " is not host:port");
  }
  std::string host = addr_.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const int wanted = std::stoi(addr_.substr(colon + 1));
  port_ = wanted == 0 ? server_->bind_to_any_port(host) : wanted;
  if (port_ < 0 || (wanted != 0 && !server_->bind_to_port(host, wanted))) {
    throw Error(ErrorCode::kConfig, "cannot listen on admin.addr " + addr_ +
                                        " (in use or not a local address); set another "
                                        "host:port with USER_EXPORT_ADMIN_ADDR");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() only interrupts a server that is already listening: wait (bounded) until
  // the listener runs, so a stop() right after start() cannot leave it serving forever.
  for (int i = 0; i < 10'000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::info("admin endpoint listening on {}:{}", host, port_);
}

void AdminServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace user_export
