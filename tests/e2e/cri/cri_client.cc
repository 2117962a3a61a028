#include "tests/e2e/cri/cri_client.h"

namespace runvm::testing::cri {

using namespace std::chrono_literals;

CriClient::CriClient(const std::string& socket, std::chrono::seconds default_deadline)
    : channel_(grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials())),
      runtime_(v1::RuntimeService::NewStub(channel_)),
      images_(v1::ImageService::NewStub(channel_)),
      deadline_(default_deadline) {}

template <class Stub, class Request, class Response>
Reply<Response> CriClient::call(
    Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
    const Request& request, std::chrono::seconds deadline) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  Reply<Response> reply;
  reply.status = (stub->*method)(&context, request, &reply.value);
  return reply;
}

Reply<v1::VersionResponse> CriClient::version() {
  v1::VersionRequest r;
  r.set_version("v1");
  return call(runtime_.get(), &v1::RuntimeService::Stub::Version, r, 10s);
}

Reply<v1::StatusResponse> CriClient::status() {
  return call(runtime_.get(), &v1::RuntimeService::Stub::Status, v1::StatusRequest{}, 10s);
}

Reply<v1::ImageStatusResponse> CriClient::image_status(const std::string& image) {
  v1::ImageStatusRequest r;
  r.mutable_image()->set_image(image);
  return call(images_.get(), &v1::ImageService::Stub::ImageStatus, r, 10s);
}

Reply<v1::RunPodSandboxResponse> CriClient::run_pod_sandbox(const v1::PodSandboxConfig& config,
                                                            const std::string& runtime_handler) {
  v1::RunPodSandboxRequest r;
  *r.mutable_config() = config;
  r.set_runtime_handler(runtime_handler);
  return call(runtime_.get(), &v1::RuntimeService::Stub::RunPodSandbox, r, 3 * deadline_);
}

Reply<v1::StopPodSandboxResponse> CriClient::stop_pod_sandbox(const std::string& pod) {
  v1::StopPodSandboxRequest r;
  r.set_pod_sandbox_id(pod);
  return call(runtime_.get(), &v1::RuntimeService::Stub::StopPodSandbox, r, 2 * deadline_);
}

Reply<v1::RemovePodSandboxResponse> CriClient::remove_pod_sandbox(const std::string& pod) {
  v1::RemovePodSandboxRequest r;
  r.set_pod_sandbox_id(pod);
  return call(runtime_.get(), &v1::RuntimeService::Stub::RemovePodSandbox, r, 2 * deadline_);
}

Reply<v1::PodSandboxStatusResponse> CriClient::pod_sandbox_status(const std::string& pod) {
  v1::PodSandboxStatusRequest r;
  r.set_pod_sandbox_id(pod);
  return call(runtime_.get(), &v1::RuntimeService::Stub::PodSandboxStatus, r, deadline_);
}

Reply<v1::ListPodSandboxResponse> CriClient::list_pod_sandbox() {
  return call(runtime_.get(), &v1::RuntimeService::Stub::ListPodSandbox,
              v1::ListPodSandboxRequest{}, deadline_);
}

Reply<v1::CreateContainerResponse> CriClient::create_container(
    const std::string& pod, const v1::ContainerConfig& config,
    const v1::PodSandboxConfig& sandbox_config) {
  v1::CreateContainerRequest r;
  r.set_pod_sandbox_id(pod);
  *r.mutable_config() = config;
  *r.mutable_sandbox_config() = sandbox_config;
  return call(runtime_.get(), &v1::RuntimeService::Stub::CreateContainer, r, 2 * deadline_);
}

Reply<v1::StartContainerResponse> CriClient::start_container(const std::string& id) {
  v1::StartContainerRequest r;
  r.set_container_id(id);
  return call(runtime_.get(), &v1::RuntimeService::Stub::StartContainer, r, deadline_);
}

Reply<v1::StopContainerResponse> CriClient::stop_container(const std::string& id,
                                                           int64_t timeout_s) {
  v1::StopContainerRequest r;
  r.set_container_id(id);
  r.set_timeout(timeout_s);
  return call(runtime_.get(), &v1::RuntimeService::Stub::StopContainer, r,
              deadline_ + std::chrono::seconds(timeout_s));
}

Reply<v1::RemoveContainerResponse> CriClient::remove_container(const std::string& id) {
  v1::RemoveContainerRequest r;
  r.set_container_id(id);
  return call(runtime_.get(), &v1::RuntimeService::Stub::RemoveContainer, r, deadline_);
}

Reply<v1::ContainerStatusResponse> CriClient::container_status(const std::string& id) {
  v1::ContainerStatusRequest r;
  r.set_container_id(id);
  return call(runtime_.get(), &v1::RuntimeService::Stub::ContainerStatus, r, deadline_);
}

Reply<v1::ListContainersResponse> CriClient::list_containers(const std::string& pod) {
  v1::ListContainersRequest r;
  if (!pod.empty()) r.mutable_filter()->set_pod_sandbox_id(pod);
  return call(runtime_.get(), &v1::RuntimeService::Stub::ListContainers, r, deadline_);
}

Reply<v1::ExecSyncResponse> CriClient::exec_sync(const std::string& id,
                                                 const std::vector<std::string>& cmd,
                                                 int64_t timeout_s) {
  v1::ExecSyncRequest r;
  r.set_container_id(id);
  for (const auto& a : cmd) r.add_cmd(a);
  r.set_timeout(timeout_s);
  return call(runtime_.get(), &v1::RuntimeService::Stub::ExecSync, r,
              std::chrono::seconds(timeout_s) + 30s);
}

Reply<v1::PortForwardResponse> CriClient::port_forward(const std::string& pod, int32_t port) {
  v1::PortForwardRequest r;
  r.set_pod_sandbox_id(pod);
  r.add_port(port);
  return call(runtime_.get(), &v1::RuntimeService::Stub::PortForward, r, deadline_);
}

}  // namespace runvm::testing::cri
