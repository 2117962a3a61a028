// The README's "Adding runvm to ..." snippets, as the e2e suite uses them:
// each fenced block after a `<!-- e2e: NAME -->` marker, with the built
// binary's path in place of /usr/local/bin/runvm. The tests run with these
// configurations, so the README cannot drift from what works.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tests/integration/harness.h"

namespace runvm::testing::e2e {

inline std::string readme_snippet(const std::string& name) {
  std::ifstream file(RUNVM_SOURCE_DIR "/README.md");
  std::stringstream text;
  text << file.rdbuf();
  std::string readme = text.str();
  size_t marker = readme.find("<!-- e2e: " + name + " -->");
  if (marker == std::string::npos) throw std::runtime_error("README.md has no snippet " + name);
  size_t open = readme.find("```", marker);
  size_t body = readme.find('\n', open) + 1;
  size_t close = readme.find("\n```", body);
  if (open == std::string::npos || close == std::string::npos)
    throw std::runtime_error("README.md: snippet " + name + " is not a fenced block");
  std::string snippet = readme.substr(body, close + 1 - body);
  const std::string placeholder = "/usr/local/bin/runvm";
  for (size_t at; (at = snippet.find(placeholder)) != std::string::npos;)
    snippet.replace(at, placeholder.size(), runvm_binary());
  return snippet;
}

}  // namespace runvm::testing::e2e
