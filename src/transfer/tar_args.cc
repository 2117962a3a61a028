#include "transfer/tar_args.h"

#include <map>

namespace runvm::transfer {
namespace {

using Mode = TarCommand::Mode;

// -C is a chdir: relative directories are relative to the one before.
std::string change_dir(const std::string& current, const std::string& dir) {
  if (current.empty() || dir.empty() || dir[0] == '/') return dir;
  return current + "/" + dir;
}

class Parser {
 public:
  explicit Parser(const std::vector<std::string>& argv) : args_(argv) {}
  Result<TarCommand> parse();

 private:
  Status set_mode(Mode mode);
  Status letter(char c, const std::string& value);
  Status long_option(const std::string& arg);
  Status cluster(const std::string& arg, bool old_style);
  Result<std::string> take_value(const std::string& option);

  const std::vector<std::string>& args_;
  size_t i_ = 1;
  bool o_flag_ = false;  // -o: --no-same-owner when extracting
  TarCommand cmd_;
};

bool takes_value(char c) { return c == 'f' || c == 'C'; }

Status Parser::set_mode(Mode mode) {
  if (cmd_.mode != Mode::kNone && cmd_.mode != mode)
    return fail("You may not specify more than one '-Acdtrux', '--delete' or  '--test-label' option");
  cmd_.mode = mode;
  return ok();
}

Result<std::string> Parser::take_value(const std::string& option) {
  if (i_ + 1 >= args_.size()) return fail("option requires an argument -- '" + option + "'");
  return args_[++i_];
}

Status Parser::letter(char c, const std::string& value) {
  switch (c) {
    case 'c': return set_mode(Mode::kCreate);
    case 'x': return set_mode(Mode::kExtract);
    case 'f': cmd_.archive = value; return ok();
    case 'C': cmd_.directory = change_dir(cmd_.directory, value); return ok();
    case 'v': cmd_.verbose = true; return ok();
    case 'm': cmd_.touch = true; return ok();
    case 'p': cmd_.same_permissions = true; return ok();
    case 'o': o_flag_ = true; return ok();
    case 'z': case 'j': case 'J': case 'Z': case 'a':
      return fail(std::string("compression (-") + c +
                  ") is not supported; decompress the archive first");
    case 't': case 'r': case 'u': case 'A': case 'd': case 'h':
      return fail(std::string("option -") + c + " is not supported");
    default: return fail(std::string("invalid option -- '") + c + "'");
  }
}

// "-xvf -", "-xf-", and old-style "xvf -" (values from the next words).
Status Parser::cluster(const std::string& arg, bool old_style) {
  for (size_t pos = old_style ? 0 : 1; pos < arg.size(); ++pos) {
    char c = arg[pos];
    if (!takes_value(c)) {
      TRY(letter(c, ""));
      continue;
    }
    if (!old_style && pos + 1 < arg.size()) return letter(c, arg.substr(pos + 1));
    TRY(letter(c, TRY(take_value(std::string(1, c)))));
  }
  return ok();
}

Status Parser::long_option(const std::string& arg) {
  size_t eq = arg.find('=');
  std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
  auto value = [&]() -> Result<std::string> {
    if (eq != std::string::npos) return arg.substr(eq + 1);
    return take_value(name);
  };
  static const std::map<std::string, char> kLetters = {
      {"create", 'c'}, {"extract", 'x'}, {"get", 'x'}, {"verbose", 'v'}, {"touch", 'm'},
      {"preserve-permissions", 'p'}, {"same-permissions", 'p'}, {"gzip", 'z'}, {"gunzip", 'z'},
      {"bzip2", 'j'}, {"xz", 'J'}, {"compress", 'Z'}, {"auto-compress", 'a'}, {"list", 't'},
      {"append", 'r'}, {"update", 'u'}, {"dereference", 'h'}};
  if (name == "file") return letter('f', TRY(value()));
  if (name == "directory") return letter('C', TRY(value()));
  if (auto it = kLetters.find(name); it != kLetters.end()) return letter(it->second, "");
  if (name == "zstd" || name == "lzma" || name == "lzip" || name == "lzop")
    return fail("compression (--" + name + ") is not supported; decompress the archive first");
  if (name == "same-owner" || name == "no-same-owner") {
    cmd_.same_owner = name == "same-owner";
    return ok();
  }
  if (name == "no-same-permissions") {
    cmd_.same_permissions = false;
    return ok();
  }
  if (name == "xattrs" || name == "no-xattrs") {
    cmd_.xattrs = name == "xattrs";
    return ok();
  }
  // Accepted because they are what this tar always does.
  if (name == "numeric-owner" || name == "overwrite" || name == "unlink-first") return ok();
  return fail("unrecognized option '" + arg + "'");
}

Result<TarCommand> Parser::parse() {
  // GNU tar reads a first word without '-' as old-style options ("cf").
  if (args_.size() > 1 && !args_[1].empty() && args_[1][0] != '-') {
    TRY(cluster(args_[1], true));  // takes its values from the words after it
    ++i_;
  }
  bool operands_only = false;
  for (; i_ < args_.size(); ++i_) {
    const std::string& arg = args_[i_];
    if (operands_only || arg.size() < 2 || arg[0] != '-') {
      cmd_.members.push_back({cmd_.directory, arg});
    } else if (arg == "--") {
      operands_only = true;
    } else if (arg.compare(0, 2, "--") == 0) {
      TRY(long_option(arg));
    } else {
      TRY(cluster(arg, false));
    }
  }
  if (cmd_.mode == Mode::kNone)
    return fail("You must specify one of the '-Acdtrux', '--delete' or '--test-label' options");
  if (o_flag_ && cmd_.mode == Mode::kExtract) cmd_.same_owner = false;
  if (cmd_.mode == Mode::kCreate && cmd_.members.empty())
    return fail("Cowardly refusing to create an empty archive");
  if (cmd_.mode == Mode::kExtract && !cmd_.members.empty())
    return fail("extracting selected members is not supported: " + cmd_.members[0].path);
  return cmd_;
}

}  // namespace

Result<TarCommand> parse_tar_args(const std::vector<std::string>& argv) {
  return Parser(argv).parse();
}

}  // namespace runvm::transfer
