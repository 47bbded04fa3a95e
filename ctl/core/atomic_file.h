// Writing a file so that a reader, or a crash, sees the old content or the
// new one, never half of it: a temporary file beside it, fsync, rename.
// lbd's health state file and `lbctl save` use it.
#pragma once
#include <string>
#include <sys/types.h>

namespace xlb {

// Throws SystemError naming the step that failed; the temporary file is
// removed then, and `path` is left as it was.
void write_file_atomically(const std::string& path, const std::string& text, mode_t mode = 0644);

}  // namespace xlb
