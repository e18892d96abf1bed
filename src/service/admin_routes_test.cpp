#include "service/admin_routes.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace user_export {
namespace {

struct Calls {
  int runs = 0;
  int pauses = 0;
  int resumes = 0;
  int triggers = 0;
  int details = 0;
  std::vector<std::string> actions;  ///< "id action reason actor" per run action
  std::vector<std::optional<std::string>> plans;
};

constexpr const char* kKnownRun = "0b7c3a52-7f7e-4d3c-9a52-4c1e2f0d9a11";

AdminRoutes routes_with(const std::string& token, Calls& calls) {
  AdminHooks hooks;
  hooks.not_ready = [] { return std::optional<std::string>(); };
  hooks.metrics_text = [] { return std::string("m 1\n"); };
  hooks.recent_runs = [&calls](std::size_t) {
    ++calls.runs;
    return std::vector<ExportRun>{};
  };
  hooks.pause = [&calls] { ++calls.pauses; };
  hooks.resume = [&calls] { ++calls.resumes; };
  hooks.trigger = [&calls](std::optional<std::string>) { ++calls.triggers; };
  hooks.run_detail = [&calls](const RunId& id) -> std::optional<std::string> {
    ++calls.details;
    if (id.str() != kKnownRun) return std::nullopt;
    return std::string("{\"runId\":\"") + id.str() + "\"}";
  };
  hooks.run_action = [&calls](const RunId& id, const std::string& action, const std::string& reason,
                              const std::string& actor) -> std::optional<std::string> {
    if (id.str() != kKnownRun) return std::nullopt;
    calls.actions.push_back(id.str() + " " + action + " " + reason + " " + actor);
    return std::string("{}");
  };
  hooks.plan = [&calls](std::optional<std::string> group) -> std::string {
    if (group && *group == "bad") throw Error(ErrorCode::kInvalidInput, "group bad is no UUID");
    calls.plans.push_back(group);
    return "[]";
  };
  return AdminRoutes(token, hooks);
}

AdminRequest request(std::string method, std::string path,
                     std::optional<std::string> auth = std::nullopt) {
  AdminRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.authorization = std::move(auth);
  return r;
}

AdminRequest authorised(std::string method, std::string path) {
  return request(std::move(method), std::move(path), "Bearer secret");
}

const std::string kRunPath = std::string("/api/runs/") + kKnownRun;
const std::vector<std::pair<std::string, std::string>> kApi = {
    {"GET", "/api/runs"},           {"GET", "/api/plan"},
    {"POST", "/api/pause"},         {"POST", "/api/resume"},
    {"POST", "/api/trigger"},       {"GET", kRunPath},
    {"POST", kRunPath + "/replay"}, {"POST", kRunPath + "/reexport"}};

TEST(AdminRoutes, EveryApiEndpointNeedsTheTokenAndIsRefusedOnItsHeaders) {
  Calls calls;
  AdminRoutes routes = routes_with("secret", calls);
  for (const auto& [method, path] : kApi) {
    for (const std::optional<std::string>& auth :
         {std::optional<std::string>(), std::optional<std::string>("Bearer secreT"),
          std::optional<std::string>("secret"), std::optional<std::string>("Bearer ")}) {
      auto refused = routes.refusal(request(method, path, auth));
      ASSERT_TRUE(refused) << path;
      EXPECT_EQ(refused->status, 401) << path;
      EXPECT_EQ(routes.handle(request(method, path, auth)).status, 401) << path;
    }
    EXPECT_FALSE(routes.refusal(request(method, path, "Bearer secret"))) << path;
    auto r = request(method, path, "Bearer secret");
    r.query["reason"] = "checking the token";
    EXPECT_LT(routes.handle(r).status, 300) << path;
  }
  EXPECT_EQ(calls.runs, 1);
  EXPECT_EQ(calls.pauses, 1);
  EXPECT_EQ(calls.resumes, 1);
  EXPECT_EQ(calls.triggers, 1);
}

TEST(AdminRoutes, WithoutAConfiguredTokenEveryApiEndpointIs403) {
  Calls calls;
  AdminRoutes routes = routes_with("", calls);
  for (const auto& [method, path] : kApi) {
    auto reply = routes.handle(request(method, path, "Bearer "));
    EXPECT_EQ(reply.status, 403) << path;
    EXPECT_NE(reply.body.find("USER_EXPORT_ADMIN_TOKEN"), std::string::npos);
  }
  EXPECT_EQ(calls.runs + calls.pauses + calls.resumes + calls.triggers + calls.details, 0);
  EXPECT_TRUE(calls.actions.empty());
}

TEST(AdminRoutes, HealthAndMetricsStayOpen) {
  Calls calls;
  AdminRoutes routes = routes_with("secret", calls);
  EXPECT_EQ(routes.handle(request("GET", "/healthz")).status, 200);
  EXPECT_EQ(routes.handle(request("GET", "/readyz")).status, 200);
  auto metrics = routes.handle(request("GET", "/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body, "m 1\n");
}

TEST(AdminRoutes, UnknownPathsAndWrongMethodsAreRefusedBeforeTheToken) {
  Calls calls;
  AdminRoutes routes = routes_with("secret", calls);
  EXPECT_EQ(routes.handle(request("GET", "/nope")).status, 404);
  auto wrong = routes.handle(request("GET", "/api/pause", "Bearer secret"));
  EXPECT_EQ(wrong.status, 405);
  ASSERT_EQ(wrong.headers.size(), 1u);
  EXPECT_EQ(wrong.headers[0], (std::pair<std::string, std::string>{"Allow", "POST"}));
  EXPECT_EQ(routes.handle(request("POST", "/healthz")).status, 405);
  EXPECT_EQ(calls.pauses, 0);
}

TEST(AdminRoutes, RunsLimitMustBeAWholeNumber) {
  Calls calls;
  AdminRoutes routes = routes_with("secret", calls);
  for (const char* bad : {"x", "5x", "", "-"}) {
    auto r = request("GET", "/api/runs", "Bearer secret");
    r.query["limit"] = bad;
    EXPECT_EQ(routes.handle(r).status, 400) << bad;
  }
  auto r = request("GET", "/api/runs", "Bearer secret");
  r.query["limit"] = "5";
  EXPECT_EQ(routes.handle(r).status, 200);
}

TEST(AdminRoutes, ARunIsShownByItsIdInAnyLetterCase) {
  Calls calls;
  AdminRoutes routes = routes_with("secret", calls);
  std::string upper = kRunPath;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  upper.replace(0, 10, "/api/runs/");
  auto shown = routes.handle(authorised("GET", upper));
  EXPECT_EQ(shown.status, 200);
  EXPECT_EQ(nlohmann::json::parse(shown.body)["runId"], kKnownRun);
  auto unknown = routes.handle(authorised("GET", "/api/runs/11111111-2222-3333-4444-555555555555"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("there is no run 11111111-2222-3333-4444-555555555555"),
            std::string::npos);
  auto malformed = routes.handle(authorised("GET", "/api/runs/last-night"));
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("'last-night' is not a run id"), std::string::npos);
  EXPECT_EQ(routes.handle(authorised("POST", kRunPath)).status, 405);
  EXPECT_EQ(routes.handle(authorised("GET", kRunPath + "/replay")).status, 405);
  EXPECT_EQ(routes.handle(authorised("POST", kRunPath + "/delete")).status, 404);
  EXPECT_EQ(routes.handle(authorised("GET", "/api/runs/")).status, 404);
}

TEST(AdminRoutes, ARunActionNeedsAReasonAndNamesTheCallerForAudit) {
  Calls calls;
  AdminRoutes routes = routes_with("secret", calls);
  for (const char* reason : {"", "   "}) {
    auto r = authorised("POST", kRunPath + "/replay");
    r.query["reason"] = reason;
    auto reply = routes.handle(r);
    EXPECT_EQ(reply.status, 400);
    EXPECT_NE(reply.body.find("needs a reason"), std::string::npos);
  }
  EXPECT_EQ(routes.handle(authorised("POST", kRunPath + "/reexport")).status, 400);
  EXPECT_TRUE(calls.actions.empty());

  auto r = authorised("POST", kRunPath + "/reexport");
  r.query["reason"] = "consumer lost the file";
  r.peer = "10.0.0.7";
  EXPECT_EQ(routes.handle(r).status, 200);
  auto gone = authorised("POST", "/api/runs/11111111-2222-3333-4444-555555555555/replay");
  gone.query["reason"] = "x";
  EXPECT_EQ(routes.handle(gone).status, 404);
  ASSERT_EQ(calls.actions.size(), 1u);
  EXPECT_EQ(calls.actions[0],
            std::string(kKnownRun) + " reexport consumer lost the file admin-api:10.0.0.7");
}

TEST(AdminRoutes, PlanAnswersTheHooksJsonForEveryGroupOrTheOneAsked) {
  Calls calls;
  AdminRoutes routes = routes_with("secret", calls);
  AdminReply all = routes.handle(request("GET", "/api/plan", "Bearer secret"));
  EXPECT_EQ(all.status, 200);
  EXPECT_EQ(all.body, "[]\n");
  EXPECT_EQ(all.content_type, "application/json");
  AdminRequest one = request("GET", "/api/plan", "Bearer secret");
  one.query["group"] = "5f0c6c1e-8d0b-4c57-9a57-2b8f3c0e9d41";
  EXPECT_EQ(routes.handle(one).status, 200);
  ASSERT_EQ(calls.plans.size(), 2u);
  EXPECT_FALSE(calls.plans[0]);
  EXPECT_EQ(calls.plans[1], "5f0c6c1e-8d0b-4c57-9a57-2b8f3c0e9d41");
  one.query["group"] = "bad";
  EXPECT_EQ(routes.handle(one).status, 400);
  EXPECT_EQ(routes.handle(request("POST", "/api/plan", "Bearer secret")).status, 405);
}

}  // namespace
}  // namespace user_export
