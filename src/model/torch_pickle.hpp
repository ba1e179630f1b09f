#pragma once
// Reads a dict of tensors from a PyTorch zip archive: a state_dict that Python saved with
// torch.save(model.state_dict(), path), or the weights section of an xraykit model file
// (LibTorch's pickle_save). One bounded reader for both, because both come from elsewhere:
// LibTorch's own pickle_load returns None for an OrderedDict and recurses without limit on
// nested objects (a 600 KB file overflowed the stack). Here nesting depth, object and memo
// counts are capped, and every tensor view must lie inside its storage and hold no more
// elements than it. Internal header.
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xraykit {

/// Entries in file order. ModelError naming the path if the file is not a readable
/// torch.save zip archive of a dict of tensors. The tensors are views of the archive's
/// storages where they can be (not copies: a model's weights are tens of MB), so entries
/// that share a storage in the file share memory here: read them, or copy before writing.
std::vector<std::pair<std::string, torch::Tensor>> read_torch_state_dict(const std::string& path);
/// The same from bytes in memory; errors name `origin`.
std::vector<std::pair<std::string, torch::Tensor>> read_torch_state_dict(const std::uint8_t* data, std::size_t size,
                                                                         const std::string& origin);

}  // namespace xraykit
