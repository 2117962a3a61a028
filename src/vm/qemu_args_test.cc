#include "vm/qemu_args.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace runvm::vm {
namespace {

// The value following `flag` (first occurrence whose value contains `part`).
std::string value_of(const std::vector<std::string>& cmd, const std::string& flag,
                     const std::string& part = "") {
  for (size_t i = 0; i + 1 < cmd.size(); ++i)
    if (cmd[i] == flag && cmd[i + 1].find(part) != std::string::npos) return cmd[i + 1];
  return "";
}

VmSpec spec(Accel accel) {
  VmSpec s;
  s.kernel = "/k/vmlinuz";
  s.initramfs = "/k/initramfs.img";
  s.accel = accel;
  s.vcpus = 2;
  s.memory_mib = 768;
  s.rootfs = "/bundle/rootfs";
  s.work_dir = "/run/runvm/c1";
  return s;
}

TEST(QemuArgs, TcgMicrovmWithVirtioFsAndAgentPort) {
  QemuPaths paths{"/usr/bin/qemu-system-x86_64", "/usr/lib/qemu/virtiofsd"};
  auto cmd = qemu_command_line(paths, spec(Accel::tcg), vm_files("/run/runvm/c1"), true);
  EXPECT_EQ(cmd[0], paths.qemu);
  EXPECT_EQ(value_of(cmd, "-accel"), "tcg,thread=multi");
  EXPECT_EQ(value_of(cmd, "-cpu"), "max");
  EXPECT_EQ(value_of(cmd, "-smp"), "2");
  EXPECT_EQ(value_of(cmd, "-m"), "768M");
  EXPECT_EQ(value_of(cmd, "-object"), "memory-backend-memfd,id=mem,size=768M,share=on");
  EXPECT_EQ(value_of(cmd, "-kernel"), "/k/vmlinuz");
  EXPECT_EQ(value_of(cmd, "-initrd"), "/k/initramfs.img");
  EXPECT_EQ(value_of(cmd, "-global"), "virtio-mmio.force-legacy=false");
  EXPECT_EQ(value_of(cmd, "-chardev", "id=rootfs"),
            "socket,id=rootfs,path=virtiofs.sock");
  EXPECT_EQ(value_of(cmd, "-chardev", "id=agent"),
            "socket,id=agent,path=agent.sock");
  EXPECT_EQ(value_of(cmd, "-device", "virtserialport"),
            "virtserialport,chardev=agent,name=runvm.agent");
  EXPECT_EQ(value_of(cmd, "-serial"), "chardev:console");
  EXPECT_EQ(value_of(cmd, "-chardev", "id=console"),
            "file,id=console,path=/run/runvm/c1/console.log");
  EXPECT_NE(value_of(cmd, "-sandbox").find("on"), std::string::npos);
  // No network device yet, and a guest reboot ends QEMU.
  EXPECT_NE(std::find(cmd.begin(), cmd.end(), "-nodefaults"), cmd.end());
  EXPECT_NE(std::find(cmd.begin(), cmd.end(), "-no-reboot"), cmd.end());
  EXPECT_EQ(value_of(cmd, "-netdev"), "");
}

TEST(QemuArgs, KvmUsesHostCpuAndSandboxIsOptional) {
  QemuPaths paths{"qemu", "virtiofsd"};
  auto cmd = qemu_command_line(paths, spec(Accel::kvm), vm_files("/w"), false);
  EXPECT_EQ(value_of(cmd, "-accel"), "kvm");
  EXPECT_EQ(value_of(cmd, "-cpu"), "host");
  EXPECT_EQ(value_of(cmd, "-sandbox"), "");
}

TEST(QemuArgs, KernelArgsAreAppended) {
  VmSpec s = spec(Accel::tcg);
  s.kernel_args = "runvm.debug=1";
  auto cmd = qemu_command_line({"q", "v"}, s, vm_files("/w"), false);
  std::string append = value_of(cmd, "-append");
  EXPECT_EQ(append.rfind(kBaseKernelArgs, 0), 0u);
  EXPECT_NE(append.find(" runvm.debug=1"), std::string::npos);
}

TEST(VirtiofsdArgs, SharesTheRootfsOverAPassedSocket) {
  auto cmd = virtiofsd_command_line({"q", "/usr/lib/qemu/virtiofsd"}, spec(Accel::tcg).rootfs);
  EXPECT_EQ(cmd[0], "/usr/lib/qemu/virtiofsd");
  EXPECT_NE(std::find(cmd.begin(), cmd.end(), "--fd=3"), cmd.end());
  EXPECT_EQ(value_of(cmd, "-o", "source="), "source=/bundle/rootfs");
  EXPECT_EQ(value_of(cmd, "-o", "cache="), "cache=auto");
  EXPECT_NE(std::find(cmd.begin(), cmd.end(), "--rlimit-nofile=" + std::to_string(hard_nofile_limit())),
            cmd.end())
      << "one descriptor per cached inode: as many as the hard limit allows";
}

TEST(QemuArgs, EachShareIsAVhostUserFsDeviceWithItsOwnSocket) {
  VmSpec s = spec(Accel::tcg);
  s.work_dir = "/w";
  s.shares = {{"m0", "/data"}, {"m1", "/etc-files"}};
  auto cmd = qemu_command_line({"q", "v"}, s, vm_files("/w"), false);
  std::string line;
  for (const auto& a : cmd) line += a + " ";
  EXPECT_NE(line.find("-chardev socket,id=share-m0,path=share-m0.sock "
                      "-device vhost-user-fs-device,chardev=share-m0,tag=m0"), std::string::npos) << line;
  EXPECT_NE(line.find("tag=m1"), std::string::npos) << line;
}

TEST(QemuArgs, EachNicIsAVirtioNetDeviceOnAPassedTap) {
  VmSpec s = spec(Accel::tcg);
  s.nics = {{7, "02:42:ac:11:00:02", 1500}, {8, "aa:bb:cc:dd:ee:ff", 9000}, {9, "02:72:76:00:00:02", 0}};
  auto cmd = qemu_command_line({"q", "v"}, s, vm_files("/w"), false);
  EXPECT_EQ(value_of(cmd, "-netdev", "net0"), "tap,id=net0,fd=10");
  EXPECT_EQ(value_of(cmd, "-netdev", "net1"), "tap,id=net1,fd=11");
  EXPECT_EQ(value_of(cmd, "-device", "netdev=net0"),
            "virtio-net-device,netdev=net0,mac=02:42:ac:11:00:02,host_mtu=1500");
  EXPECT_EQ(value_of(cmd, "-device", "netdev=net1"),
            "virtio-net-device,netdev=net1,mac=aa:bb:cc:dd:ee:ff,host_mtu=9000");
  // A spare: no MTU advertised, so the guest may give it any MTU later.
  EXPECT_EQ(value_of(cmd, "-device", "netdev=net2"), "virtio-net-device,netdev=net2,mac=02:72:76:00:00:02");
}

}  // namespace
}  // namespace runvm::vm
