// The hostile-guest tier: a container's monitor driven by a fake agent over
// a socketpair, with a fake VMM backend injected (no QEMU). Whatever the
// "guest" sends (ill-typed, oversized, truncated, out-of-order, duplicate,
// unknown-stream or flooding messages, answers for processes that do not
// exist, nothing at all), the monitor never crashes, never grows without
// bound, records `stopped` and lets go of its VM.
//
// Each test forks a monitor (it blocks signals and owns descriptors, as in
// runvm) and plays the agent in the test process.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "common/io.h"
#include "common/log.h"
#include "host/message_socket.h"
#include "proto/messages.h"
#include "proto/session.h"
#include "runtime/container_state.h"
#include "runtime/lifecycle.h"
#include "runtime/monitor.h"
#include "vm/vmm.h"

namespace runvm {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A VM that is only its agent channel. Killing it closes the channel and
// makes its watch descriptor readable, as QEMU's exit would.
class FakeVm : public vm::Vm {
 public:
  FakeVm(UniqueFd agent, UniqueFd watch_r, UniqueFd watch_w, std::string console)
      : agent_(std::move(agent)), watch_r_(std::move(watch_r)), watch_w_(std::move(watch_w)),
        console_(std::move(console)) {}
  int agent_fd() const override { return agent_.get(); }
  std::vector<int> watch_fds() const override { return {watch_r_.get()}; }
  std::string check_failure() override { return killed_ ? "the fake VM was stopped" : ""; }
  bool exited() override { return killed_; }
  bool wait_exit(std::chrono::milliseconds) override { return killed_; }
  Status pause() override { return ok(); }
  Status resume() override { return ok(); }
  void kill() override {
    killed_ = true;
    agent_.reset();
    watch_w_.reset();
  }
  std::vector<pid_t> file_server_pids(int) const override { return {}; }
  std::string console_log_path() const override { return console_; }

 private:
  UniqueFd agent_, watch_r_, watch_w_;
  std::string console_;
  bool killed_ = false;
};

class FakeBackend : public vm::VmmBackend {
 public:
  FakeBackend(UniqueFd agent, std::string console) : agent_(std::move(agent)), console_(std::move(console)) {}
  std::string name() const override { return "fake"; }
  Result<std::unique_ptr<vm::Vm>> boot(const vm::VmSpec&) override {
    auto [r, w] = TRY(io::make_pipe());
    return std::unique_ptr<vm::Vm>(new FakeVm(std::move(agent_), std::move(r), std::move(w), console_));
  }

 private:
  UniqueFd agent_;
  std::string console_;
};

// The guest's end: a Session over the socketpair.
class FakeAgent {
 public:
  explicit FakeAgent(UniqueFd fd) : fd_(std::move(fd)), session_("runvm-agent") { session_.send_hello(); }

  // Reads until `done` says so, the host hangs up, or the time is up.
  // Returns false on timeout.
  bool read_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      flush();
      if (host_gone) return true;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p = {fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n <= 0) {
        host_gone = true;
        continue;
      }
      auto events = session_.receive(std::string_view(buf, static_cast<size_t>(n)));
      if (!events) {
        host_gone = true;
        continue;
      }
      for (auto& e : *events) {
        if (auto* m = std::get_if<proto::event::Message>(&e)) messages.push_back(m->body);
        if (auto* pe = std::get_if<proto::event::PeerError>(&e)) peer_error = pe->message;
      }
    }
    return true;
  }
  // Writes what is queued, waiting while the host is slow to read.
  void flush() {
    std::string& out = session_.outbox();
    while (!out.empty() && !host_gone && fd_) {
      ssize_t n = ::send(fd_.get(), out.data(), out.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) {
        pollfd p = {fd_.get(), POLLOUT, 0};
        if (::poll(&p, 1, 10000) <= 0) host_gone = true;
        continue;
      }
      if (n <= 0) {
        host_gone = true;
        break;
      }
      out.erase(0, static_cast<size_t>(n));
    }
  }
  void hang_up() { fd_.reset(); }
  void send(const json& m) {
    ASSERT_TRUE(session_.send_message("control", m));
    flush();
  }
  // Bytes the Session would refuse to produce, straight onto the channel.
  void send_raw(std::string bytes) {
    session_.outbox() += bytes;
    flush();
  }
  bool has(const std::string& type) const {
    for (const auto& m : messages)
      if (m.value("type", "") == type) return true;
    return false;
  }
  // The handshake and create: answers `created` for init.
  void accept_create() {
    ASSERT_TRUE(read_until([&] { return has("create"); }));
    // The host opened init's streams; its stdin direction is ours to end.
    send(msg::Created{"init", 42}.to_json());
  }
  proto::Session& session() { return session_; }

  std::vector<json> messages;
  std::string peer_error;
  bool host_gone = false;

 private:
  UniqueFd fd_;
  proto::Session session_;
};

std::string frame(uint8_t type, const std::string& stream, const std::string& payload) {
  std::string f = {'\x52', '\x56', static_cast<char>(type), static_cast<char>(stream.size())};
  uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) f.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return f + stream + payload;
}

class MonitorHostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/runvm-hostile-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/state");
    std::ofstream(dir_ + "/console.log") << "";
  }
  void TearDown() override {
    if (monitor_ > 0) {
      ::kill(monitor_, SIGKILL);
      ::waitpid(monitor_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  // Forks the monitor: create (boot the fake VM, handshake, create init),
  // then serve. Its log goes to dir_/monitor.log.
  FakeAgent start_monitor(std::chrono::milliseconds boot_timeout = 20s) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    UniqueFd host(sv[0]), guest(sv[1]);
    pid_t pid = ::fork();
    if (pid == 0) {
      guest.reset();
      run_monitor(std::move(host), boot_timeout);
    }
    monitor_ = pid;
    host.reset();
    EXPECT_EQ(::fcntl(guest.get(), F_SETFL, O_NONBLOCK), 0);
    return FakeAgent(std::move(guest));
  }

  [[noreturn]] void run_monitor(UniqueFd host, std::chrono::milliseconds boot_timeout) {
    FILE* log_file = std::fopen((dir_ + "/monitor.log").c_str(), "a");
    log::set_sink([log_file](log::Level level, const std::string& m) {
      std::fprintf(log_file, "%s: %s\n", log::level_name(level), m.c_str());
      std::fflush(log_file);
    });
    int devnull = ::open("/dev/null", O_RDWR);
    ::fcntl(host.get(), F_SETFL, O_NONBLOCK);
    runtime::MonitorConfig c;
    c.state.id = "hostile";
    c.state.status = "creating";
    c.state.pid = ::getpid();
    c.state_dir = dir_ + "/state";
    c.spec.process.args = {"sh"};
    c.vm.rootfs = dir_;
    c.boot_timeout = boot_timeout;
    c.answer_timeout = answer_timeout_;
    c.kill_timeout = kill_timeout_;
    c.init_io.in = devnull;
    c.init_io.out = devnull;
    c.init_io.err = devnull;
    c.backend = std::make_shared<FakeBackend>(std::move(host), dir_ + "/console.log");
    (void)runtime::save_state(c.state_dir, c.state);
    int start_exit_code = 1;
    auto monitor = runtime::Monitor::create(std::move(c), start_exit_code);
    if (!monitor) {
      std::fprintf(log_file, "create failed: %s\n", monitor.error().describe().c_str());
      std::fflush(log_file);
      ::_exit(100);
    }
    int status = (*monitor)->serve();
    monitor->reset();
    ::_exit(status);
  }

  // The monitor's exit status, waiting up to `limit`; -1 if it is still
  // running, -2 - signal if it crashed.
  int wait_monitor(std::chrono::milliseconds limit = 20s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status;
      pid_t r = ::waitpid(monitor_, &status, WNOHANG);
      if (r == monitor_) {
        monitor_ = -1;
        if (WIFSIGNALED(status)) return -2 - WTERMSIG(status);
        return WEXITSTATUS(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }

  std::string recorded_status() {
    auto s = runtime::load_state(dir_ + "/state");
    return s ? s->status : "unreadable: " + s.error().describe();
  }
  // The agent answers create; the monitor records "created" (from then on
  // it serves, and what the guest sends is the running container's).
  void created(FakeAgent& agent) {
    agent.accept_create();
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (recorded_status() != "created" && std::chrono::steady_clock::now() < deadline) {
      agent.read_until([] { return false; }, 20ms);
    }
    ASSERT_EQ(recorded_status(), "created") << log_text();
  }

  std::string log_text() {
    auto text = io::read_file(dir_ + "/monitor.log");
    return text ? *text : "";
  }

  // The common end of a hostile test: the monitor gave up on the guest,
  // exited as a lost VM does (137), recorded "stopped" and hung up.
  void expect_stopped_cleanly(FakeAgent& agent) {
    EXPECT_EQ(wait_monitor(), runtime::kVmLostExitStatus) << log_text();
    EXPECT_EQ(recorded_status(), "stopped");
    EXPECT_TRUE(agent.read_until([] { return false; }, 2s)) << "the channel stayed open";
    EXPECT_TRUE(agent.host_gone);
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/state/control.sock")) << "the control socket was left";
  }

  // `start` asked from a thread, as a command asks it, while the test plays
  // the agent. answer() is bounded: without an answer within `limit` the
  // monitor is killed, which ends the wait with the wrong reason (and the
  // test fails) instead of hanging.
  class StartCommand {
   public:
    explicit StartCommand(const std::string& state_dir)
        : thread_([this, state_dir] {
            answer_.emplace(runtime::ask_monitor(state_dir, control::Start{}));
            answered_ = true;
          }) {}
    ~StartCommand() {
      if (thread_.joinable()) thread_.join();
    }
    std::optional<Result<control::Reply>> answer(pid_t monitor, std::chrono::seconds limit) {
      auto deadline = std::chrono::steady_clock::now() + limit;
      while (!answered_ && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
      if (!answered_) ::kill(monitor, SIGKILL);
      thread_.join();
      return std::move(answer_);
    }

   private:
    std::optional<Result<control::Reply>> answer_;
    std::atomic<bool> answered_ = false;
    std::thread thread_;
  };

  // The agent starts init (answers `start`), as for a running container.
  void started(FakeAgent& agent) {
    created(agent);
    StartCommand command(dir_ + "/state");
    EXPECT_TRUE(agent.read_until([&] { return agent.has("start"); }));
    agent.send(msg::Started{"init", 42}.to_json());
    auto answer = command.answer(monitor_, 10s);
    ASSERT_TRUE(answer && *answer) << log_text();
    ASSERT_EQ(recorded_status(), "running");
  }

  std::string dir_;
  pid_t monitor_ = -1;
  std::chrono::milliseconds answer_timeout_ = 10s;
  std::chrono::milliseconds kill_timeout_ = 5s;
};

TEST_F(MonitorHostileTest, AnIllTypedExitStopsTheContainerInsteadOfCrashingTheMonitor) {
  FakeAgent agent = start_monitor();
  created(agent);
  agent.send({{"type", "exit"}, {"id", "init"}, {"exit_code", "x"}});
  expect_stopped_cleanly(agent);
  EXPECT_NE(log_text().find("exit.exit_code: expected an integer from 0 to 255"), std::string::npos) << log_text();
  EXPECT_NE(agent.peer_error.find("malformed message from the guest"), std::string::npos)
      << "the guest is told why: " << agent.peer_error;
}

TEST_F(MonitorHostileTest, IllTypedMessagesOfEveryKindAreRefused) {
  const json bad[] = {
      {{"type", "created"}, {"id", "init"}, {"pid", -4}},
      {{"type", "started"}, {"id", json::array()}, {"pid", 3}},
      {{"type", "start_failed"}, {"id", "init"}, {"message", 5}, {"exit_code", 1}},
      {{"type", "copied"}, {"id", "t1"}, {"exit_code", 0}, {"bytes", "many"}},
      {{"type", "ps"}, {"request", 1}, {"processes", "all of them"}},
      {{"type", "stats"}, {"request", 1}, {"memory", {{"usage", -1}}}},
      {{"type", "stat_path"}, {"request", 1}, {"kind", "file"}, {"mode", "rwx"}},
      {{"type", "dns_query"}, {"query", 1}, {"data", "not hex"}},
      {{"type", "network_updated"}, {"error", 42}},
      {{"type", "no_such_message"}},
      {{"no_type", true}},
  };
  for (const json& m : bad) {
    SCOPED_TRACE(m.dump());
    FakeAgent agent = start_monitor();
    created(agent);
    agent.send(m);
    expect_stopped_cleanly(agent);
  }
}

TEST_F(MonitorHostileTest, BrokenFramesEndTheConnection) {
  const std::string bad[] = {
      // Over the 1 MiB payload limit: refused from the header alone.
      std::string("\x52\x56\x06\x07\x01\x00\x20\x00", 8) + "control",
      frame(3, "nobody/stdout", "data on a stream nobody opened"),
      frame(6, "control", "[1,2,3]"),
      frame(6, "control", "{\"type\": \"exit\", \"id\": "),  // not JSON
      frame(9, "", ""),                                     // no such frame type
      std::string("\x00\x00\x06\x07\x00\x00\x00\x00", 8) + "control",  // bad magic
  };
  for (const std::string& bytes : bad) {
    SCOPED_TRACE(testing::PrintToString(bytes));
    FakeAgent agent = start_monitor();
    created(agent);
    agent.send_raw(bytes);
    expect_stopped_cleanly(agent);
  }
}

TEST_F(MonitorHostileTest, AFrameCutShortByTheGuestHangingUp) {
  FakeAgent agent = start_monitor();
  created(agent);
  std::string f = frame(6, "control", msg::Exit{"init", 0, std::nullopt}.to_json().dump());
  agent.send_raw(f.substr(0, f.size() / 2));
  agent.hang_up();
  EXPECT_EQ(wait_monitor(), runtime::kVmLostExitStatus) << log_text();
  EXPECT_EQ(recorded_status(), "stopped");
}

// Answers for processes that do not exist, duplicates and answers out of
// order change nothing; the container goes on, and its real exit is its
// status.
TEST_F(MonitorHostileTest, AnswersForProcessesThatDoNotExistChangeNothing) {
  FakeAgent agent = start_monitor();
  created(agent);
  agent.send(msg::Started{"e9", 77}.to_json());
  agent.send(msg::Exit{"e9", 3, std::nullopt}.to_json());
  agent.send(msg::Copied{"t4", 0, 1, 1, 0, std::nullopt}.to_json());
  agent.send(msg::StartFailed{"e2", "no", 1}.to_json());
  agent.send(msg::PsAnswer{99, {}}.to_json());  // nobody asked
  agent.send(msg::Created{"init", 42}.to_json());  // a duplicate
  agent.send(msg::DnsQuery{1, "abc", false}.to_json());  // no DNS relay here
  agent.send(msg::ForwardFailed{"p7", 111, "no"}.to_json());  // no such forward
  // A stream the guest opened itself, named like a forward's, with data.
  ASSERT_TRUE(agent.session().open("p1"));
  ASSERT_TRUE(agent.session().send_data("p1", "unasked"));
  ASSERT_TRUE(agent.session().send_eof("p1"));
  EXPECT_EQ(wait_monitor(1500ms), -1) << "the monitor ended over answers it should ignore\n" << log_text();
  EXPECT_EQ(recorded_status(), "created");
  // init's real end: its streams' EOFs, then its exit, twice.
  ASSERT_TRUE(agent.session().send_eof("init/stdout"));
  ASSERT_TRUE(agent.session().send_eof("init/stderr"));
  agent.send(msg::Exit{"init", 7, std::nullopt}.to_json());
  agent.send(msg::Exit{"init", 9, std::nullopt}.to_json());
  EXPECT_EQ(wait_monitor(), 7) << log_text();
  EXPECT_EQ(recorded_status(), "stopped");
}

// A guest that refuses `start` (say it could not parse it): the command
// waiting for the start hears why; it does not wait for ever.
TEST_F(MonitorHostileTest, ARefusedStartIsReportedToTheCommandThatAskedForIt) {
  FakeAgent agent = start_monitor();
  created(agent);
  StartCommand command(dir_ + "/state");
  EXPECT_TRUE(agent.read_until([&] { return agent.has("start"); }));
  agent.send(msg::StartFailed{"init", "invalid start request: start.hooks[0].path: must be an absolute path", 1}
                 .to_json());
  auto answer = command.answer(monitor_, 10s);
  ASSERT_TRUE(answer);
  ASSERT_FALSE(*answer) << "start succeeded";
  EXPECT_NE(answer->error().message().find("must be an absolute path"), std::string::npos)
      << answer->error().message();
}

// A flood of messages about processes that do not exist: the monitor keeps
// its memory and its log bounded and goes on serving.
TEST_F(MonitorHostileTest, AFloodIsBoundedInMemoryAndLog) {
  FakeAgent agent = start_monitor();
  created(agent);
  json exit = msg::Exit{"ghost", 1, std::nullopt}.to_json();
  for (int i = 0; i < 50000; ++i) {
    ASSERT_TRUE(agent.session().send_message("control", exit));
    if (i % 500 == 0) agent.flush();
  }
  agent.flush();
  // Let it read everything: the channel drains when the monitor keeps up.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(wait_monitor(10ms), -1) << log_text();
  auto status_file = io::read_file("/proc/" + std::to_string(monitor_) + "/status");
  std::string status = status_file ? *status_file : "";
  size_t at = status.find("VmRSS:");
  ASSERT_NE(at, std::string::npos);
  long rss_kib = std::stol(status.substr(at + 6));
  EXPECT_LT(rss_kib, 64 * 1024) << "the monitor grew to " << rss_kib << " KiB";
  EXPECT_LT(log_text().size(), 64u * 1024) << "the log grew with the flood";
  EXPECT_NE(log_text().find("for an unknown process"), std::string::npos);
  ASSERT_TRUE(agent.session().send_eof("init/stdout"));
  ASSERT_TRUE(agent.session().send_eof("init/stderr"));
  agent.send(msg::Exit{"init", 0, std::nullopt}.to_json());
  EXPECT_EQ(wait_monitor(), 0) << log_text();
}

// A guest that never answers: create gives up at the boot timeout, with the
// reason, and lets go of the VM.
TEST_F(MonitorHostileTest, AGuestThatNeverAnswersIsGivenUpOn) {
  FakeAgent agent = start_monitor(2s);
  ASSERT_TRUE(agent.read_until([&] { return agent.has("create"); }));
  EXPECT_EQ(wait_monitor(), 100) << log_text();
  EXPECT_NE(log_text().find("the guest did not prepare the process within 2 s"), std::string::npos) << log_text();
  // Where the request stands: here the peer took every byte, so the fault
  // is past the host's socket.
  EXPECT_NE(log_text().find("agent channel: 0 bytes queued by the monitor, 0 written but not yet read by QEMU"),
            std::string::npos)
      << log_text();
  EXPECT_NE(log_text().find("a ping sent meanwhile was not answered"), std::string::npos) << log_text();
  EXPECT_TRUE(agent.read_until([] { return false; }, 2s));
  EXPECT_TRUE(agent.host_gone) << "the VM was not stopped";
}

TEST_F(MonitorHostileTest, AGuestSilentFromTheStartIsGivenUpOn) {
  FakeAgent agent = start_monitor(1s);
  // Never flushed: not even a HELLO reaches the host.
  EXPECT_EQ(wait_monitor(), 100) << log_text();
  EXPECT_NE(log_text().find("did not answer within 1s"), std::string::npos) << log_text();
}

// A guest that stops answering (a hung or SIGSTOPped VM): every query
// fails within the answer deadline with the cause, and the container keeps
// serving the next command.
TEST_F(MonitorHostileTest, QueriesToAGuestThatStoppedAnsweringFailWithinTheDeadline) {
  answer_timeout_ = 1s;
  FakeAgent agent = start_monitor();
  started(agent);
  const control::Request queries[] = {control::Ps{}, control::Stats{}, control::Update{},
                                      control::StatPath{"/etc", false, false}};
  for (const control::Request& q : queries) {
    SCOPED_TRACE(control::to_json(q).dump());
    auto begin = std::chrono::steady_clock::now();
    auto answer = runtime::ask_monitor(dir_ + "/state", q);
    auto took = std::chrono::steady_clock::now() - begin;
    ASSERT_FALSE(answer) << "the silent guest answered";
    EXPECT_NE(answer.error().message().find("the container's VM did not answer within 1 s"), std::string::npos)
        << answer.error().message();
    EXPECT_LT(took, 5s);
  }
  EXPECT_EQ(wait_monitor(10ms), -1) << "a late answer is not a lost VM\n" << log_text();
  EXPECT_NE(log_text().find("the guest has stopped answering"), std::string::npos) << log_text();
  // An answer that comes after the deadline is dropped (nobody waits).
  agent.send(msg::PsAnswer{1, {}}.to_json());
  EXPECT_EQ(wait_monitor(500ms), -1) << log_text();
}

// kill KILL ends the container whatever the guest does: its exit not
// reported in time, the monitor stops the VM and exits as SIGKILLed.
TEST_F(MonitorHostileTest, KillKillEndsTheContainerWhenTheGuestDoesNotAnswer) {
  kill_timeout_ = 1s;
  FakeAgent agent = start_monitor();
  started(agent);
  auto killed = runtime::ask_monitor(dir_ + "/state", control::Kill{SIGKILL, false});
  ASSERT_TRUE(killed) << killed.error().describe();
  EXPECT_TRUE(agent.read_until([&] { return agent.has("signal"); }, 5s));
  EXPECT_EQ(wait_monitor(10s), runtime::kVmLostExitStatus) << log_text();
  EXPECT_EQ(recorded_status(), "stopped");
  EXPECT_NE(log_text().find("did not report its process's exit within 1 s of SIGKILL"), std::string::npos)
      << log_text();
  EXPECT_TRUE(agent.read_until([] { return false; }, 2s));
  EXPECT_TRUE(agent.host_gone) << "the VM was not stopped";
}

// An exec's stand-in forwards SIGTERM; a guest that no longer answers
// must not keep the stand-in (and its caller) waiting for ever.
TEST_F(MonitorHostileTest, AnExecsSignalToASilentGuestEndsItsStandIn) {
  answer_timeout_ = 1s;
  FakeAgent agent = start_monitor();
  started(agent);
  auto conn = host::connect_messages(dir_ + "/state/" + runtime::kControlSocket);
  ASSERT_TRUE(conn) << conn.error().describe();
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  control::Exec exec;
  exec.process.process.args = {"sleep", "100"};
  ASSERT_TRUE(host::send_message(conn->get(), control::to_json(exec), {devnull, devnull, devnull}));
  ::close(devnull);
  ASSERT_TRUE(agent.read_until([&] { return agent.has("exec"); }, 5s));
  agent.send(msg::Started{"e1", 43}.to_json());
  auto first = host::receive_message(conn->get());
  ASSERT_TRUE(first && *first);
  ASSERT_TRUE(host::send_message(conn->get(), control::to_json(control::Signal{SIGTERM})));
  pollfd p = {conn->get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "the stand-in was left waiting\n" << log_text();
  auto reply = host::receive_message(conn->get());
  ASSERT_TRUE(reply && *reply);
  auto parsed = control::Reply::parse((*reply)->body);
  ASSERT_TRUE(parsed);
  ASSERT_TRUE(parsed->error) << (*reply)->body.dump();
  EXPECT_NE(parsed->error->find("did not answer within 1 s"), std::string::npos) << *parsed->error;
}

// A guest that never starts the process: `start` hears so at the boot
// timeout instead of waiting for ever.
// A guest that read nothing of `create` until a second message came (the
// stall seen on a heavily loaded host: the request taken by QEMU, the guest
// idle): a quarter of the way to the boot timeout the monitor pings it, and
// the container is created after all.
TEST_F(MonitorHostileTest, AGuestLateWithCreateIsPingedOnce) {
  FakeAgent agent = start_monitor(4s);
  ASSERT_TRUE(agent.read_until([&] { return agent.has("create"); }));
  ASSERT_TRUE(agent.read_until([&] { return agent.has("ping"); }, 3s)) << "no ping within a quarter of 4 s";
  json ping;
  for (const auto& m : agent.messages)
    if (m.value("type", "") == "ping") ping = m;
  agent.send(msg::Updated{ping["request"].get<uint64_t>()}.to_json());
  agent.send(msg::Created{"init", 42}.to_json());
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (recorded_status() != "created" && std::chrono::steady_clock::now() < deadline)
    agent.read_until([] { return false; }, 20ms);
  EXPECT_EQ(recorded_status(), "created") << log_text();
  EXPECT_NE(log_text().find("the guest has not answered create in 1 s; pinging it"), std::string::npos)
      << log_text();
  int pings = 0;
  for (const auto& m : agent.messages) pings += m.value("type", "") == "ping";
  EXPECT_EQ(pings, 1) << "one ping only";
}

TEST_F(MonitorHostileTest, AStartTheGuestNeverAnswersFailsAtTheBootTimeout) {
  FakeAgent agent = start_monitor(2s);
  created(agent);
  StartCommand command(dir_ + "/state");
  EXPECT_TRUE(agent.read_until([&] { return agent.has("start"); }, 5s));
  auto answer = command.answer(monitor_, 10s);
  ASSERT_TRUE(answer);
  ASSERT_FALSE(*answer) << "start succeeded";
  EXPECT_NE(answer->error().message().find("did not start the process within 2 s"), std::string::npos)
      << answer->error().message();
  EXPECT_EQ(recorded_status(), "created");
}

}  // namespace
}  // namespace runvm
