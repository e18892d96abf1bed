#include "service/admin_server.hpp"

#include <microhttpd.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "common/error.hpp"
#include "service/connection_deadlines.hpp"
#include "service/listen_socket.hpp"

namespace user_export {
namespace {

/// What the server keeps about one request between the calls for its headers and its body.
struct RequestState {
  AdminRequest request;
  std::size_t body_bytes = 0;
  bool replied = false;
};

struct HeaderTally {
  std::size_t fields = 0;
  std::size_t bytes = 0;
};

MHD_Result tally_header(void* cls, MHD_ValueKind, const char* key, size_t key_size, const char*,
                        size_t value_size) {
  auto* tally = static_cast<HeaderTally*>(cls);
  ++tally->fields;
  tally->bytes += key_size + value_size + 4;  // "key: value\r\n"
  (void)key;
  return MHD_YES;
}

MHD_Result collect_argument(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* query = static_cast<std::map<std::string, std::string>*>(cls);
  query->emplace(key, value == nullptr ? "" : value);
  return MHD_YES;
}

MHD_Result send(MHD_Connection* connection, RequestState& state, const AdminReply& reply) {
  state.replied = true;
  MHD_Response* response = MHD_create_response_from_buffer(
      reply.body.size(), const_cast<char*>(reply.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  for (const auto& [name, value] : reply.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  const MHD_Result queued =
      MHD_queue_response(connection, static_cast<unsigned>(reply.status), response);
  MHD_destroy_response(response);
  return queued;
}

/// The client's numeric address ("127.0.0.1", "::1"), or "" when unknown.
std::string peer_address(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "";
  const socklen_t length =
      info->client_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  char host[NI_MAXHOST] = {};
  if (getnameinfo(info->client_addr, length, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) {
    return "";
  }
  return host;
}

void log_from_server(void*, const char* format, va_list args) {
  char line[512];
  std::vsnprintf(line, sizeof line, format, args);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  spdlog::debug("admin http: {}", text);
}

}  // namespace

struct AdminServer::Callbacks {
  static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url,
                               const char* method, const char*, const char* upload_data,
                               size_t* upload_data_size, void** con_cls) {
    auto& server = *static_cast<AdminServer*>(cls);
    const AdminLimits& limits = server.limits_;
    auto* state = static_cast<RequestState*>(*con_cls);
    if (state == nullptr) {
      // First call: the headers are complete and no byte of the body has been read.
      state = new RequestState;
      *con_cls = state;
      state->request.method = method;
      state->request.path = url;
      state->request.peer = peer_address(connection);
      MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_argument,
                                &state->request.query);
      if (const char* auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_AUTHORIZATION)) {
        state->request.authorization = auth;
      }
      HeaderTally tally;
      MHD_get_connection_values_n(connection, MHD_HEADER_KIND, tally_header, &tally);
      tally.bytes += std::strlen(method) + std::strlen(url) + 12;  // the request line
      if (tally.fields > limits.max_header_fields || tally.bytes > limits.max_header_bytes) {
        server.deadlines_->answered(connection);
        return send(
            connection, *state,
            error_reply(431, "at most " + std::to_string(limits.max_header_fields) +
                                 " header fields and " + std::to_string(limits.max_header_bytes) +
                                 " bytes of headers are accepted"));
      }
      if (auto refused = server.routes_.refusal(state->request)) {
        server.deadlines_->answered(connection);
        return send(connection, *state, *refused);
      }
      const char* length =
          MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      if (length != nullptr) {
        std::size_t declared = 0;
        const char* end = length + std::strlen(length);
        auto [ptr, ec] = std::from_chars(length, end, declared);
        if (ec != std::errc{} || ptr != end || declared > limits.max_body_bytes) {
          server.deadlines_->answered(connection);
          return send(connection, *state,
                      error_reply(413, "a request body is at most " +
                                           std::to_string(limits.max_body_bytes) + " bytes"));
        }
      }
      return MHD_YES;  // read the body (if any), then answer
    }
    if (*upload_data_size > 0) {
      // A chunked body, counted as it arrives since it declared no length. The admin endpoints
      // take their arguments from the query, so the body is not kept. An answer cannot be
      // queued in the middle of a body: past the limit the connection is closed at once.
      state->body_bytes += *upload_data_size;
      *upload_data_size = 0;
      (void)upload_data;
      return state->body_bytes > limits.max_body_bytes ? MHD_NO : MHD_YES;
    }
    if (state->replied) return MHD_YES;
    server.deadlines_->answered(connection);
    return send(connection, *state, server.routes_.handle(state->request));
  }

  static void on_completed(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    delete static_cast<RequestState*>(*con_cls);
    *con_cls = nullptr;
  }

  static void on_connection(void* cls, MHD_Connection* connection, void**,
                            MHD_ConnectionNotificationCode code) {
    auto& server = *static_cast<AdminServer*>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      const MHD_ConnectionInfo* info =
          MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
      if (info != nullptr) server.deadlines_->opened(connection, info->connect_fd);
    } else {
      server.deadlines_->closed(connection);
    }
  }
};

AdminServer::AdminServer(std::string addr, std::string token, AdminHooks hooks, AdminLimits limits)
    : addr_(std::move(addr)), routes_(std::move(token), std::move(hooks)), limits_(limits) {}

AdminServer::~AdminServer() {
  stop();
}

void AdminServer::start() {
  ListenSocket listener = listen_on(addr_);
  port_ = listener.port;
  deadlines_ = std::make_unique<ConnectionDeadlines>(
      std::chrono::duration_cast<std::chrono::milliseconds>(limits_.request_timeout));
  // One thread per connection (at most max_connections), so a slow client or a slow database
  // answer never holds up /healthz; each with a small stack.
  const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_POLL | MHD_USE_ERROR_LOG;
  daemon_ = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &Callbacks::on_request, this,  //
      MHD_OPTION_LISTEN_SOCKET, listener.fd,                     //
      MHD_OPTION_CONNECTION_LIMIT, limits_.max_connections,      //
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits_.max_connections_per_address,
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(limits_.request_timeout.count()),
      // The request line and headers must fit in the connection's memory, with room for the
      // answer's headers; larger ones are answered 431 by the server itself.
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(2 * limits_.max_header_bytes + 8192),
      MHD_OPTION_THREAD_STACK_SIZE, static_cast<size_t>(1024 * 1024),  //
      MHD_OPTION_NOTIFY_COMPLETED, &Callbacks::on_completed, this,     //
      MHD_OPTION_NOTIFY_CONNECTION, &Callbacks::on_connection, this,   //
      MHD_OPTION_EXTERNAL_LOGGER, &log_from_server, nullptr,           //
      MHD_OPTION_END);
  if (daemon_ == nullptr) {
    close(listener.fd);
    deadlines_.reset();
    throw Error(ErrorCode::kConfig, "cannot start the admin HTTP server on " + addr_);
  }
  spdlog::info("admin endpoint listening on {}:{}", listener.host, port_);
}

void AdminServer::stop() {
  if (daemon_ != nullptr) {
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
  }
  deadlines_.reset();
}

}  // namespace user_export
