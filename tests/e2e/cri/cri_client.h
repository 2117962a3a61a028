// A small client for a CRI runtime's gRPC socket (containerd's CRI plugin):
// what a kubelet sends, one call at a time, each under a deadline, with
// the messages of tests/e2e/cri/cri_api.proto (CRI v1, runtime.v1).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "cri_api.grpc.pb.h"
#include "cri_api.pb.h"

namespace runvm::testing::cri {

namespace v1 = ::runtime::v1;

// A call's status and, when it succeeded, its response.
template <class Response>
struct Reply {
  grpc::Status status;
  Response value;
  bool ok() const { return status.ok(); }
  // "CODE: message" for a failed call ("" when it succeeded).
  std::string error() const {
    if (status.ok()) return "";
    return std::to_string(static_cast<int>(status.error_code())) + ": " + status.error_message();
  }
};

class CriClient {
 public:
  // `socket`: the path of the runtime's Unix socket (dialled as unix://PATH).
  explicit CriClient(const std::string& socket,
                     std::chrono::seconds default_deadline = std::chrono::seconds(60));

  Reply<v1::VersionResponse> version();
  Reply<v1::StatusResponse> status();
  Reply<v1::ImageStatusResponse> image_status(const std::string& image);

  // Booting the pod's VM under TCG takes seconds: RunPodSandbox gets a
  // longer deadline than the rest.
  Reply<v1::RunPodSandboxResponse> run_pod_sandbox(const v1::PodSandboxConfig& config,
                                                   const std::string& runtime_handler);
  Reply<v1::StopPodSandboxResponse> stop_pod_sandbox(const std::string& pod);
  Reply<v1::RemovePodSandboxResponse> remove_pod_sandbox(const std::string& pod);
  Reply<v1::PodSandboxStatusResponse> pod_sandbox_status(const std::string& pod);
  Reply<v1::ListPodSandboxResponse> list_pod_sandbox();

  Reply<v1::CreateContainerResponse> create_container(const std::string& pod,
                                                      const v1::ContainerConfig& config,
                                                      const v1::PodSandboxConfig& sandbox_config);
  Reply<v1::StartContainerResponse> start_container(const std::string& id);
  Reply<v1::StopContainerResponse> stop_container(const std::string& id, int64_t timeout_s);
  Reply<v1::RemoveContainerResponse> remove_container(const std::string& id);
  Reply<v1::ContainerStatusResponse> container_status(const std::string& id);
  Reply<v1::ListContainersResponse> list_containers(const std::string& pod = "");

  // The command runs at most `timeout_s` in the container; the call's
  // deadline is that plus a margin.
  Reply<v1::ExecSyncResponse> exec_sync(const std::string& id, const std::vector<std::string>& cmd,
                                        int64_t timeout_s = 30);
  Reply<v1::PortForwardResponse> port_forward(const std::string& pod, int32_t port);

 private:
  template <class Stub, class Request, class Response>
  Reply<Response> call(Stub* stub,
                       grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                       const Request& request, std::chrono::seconds deadline);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> images_;
  std::chrono::seconds deadline_;
};

}  // namespace runvm::testing::cri
