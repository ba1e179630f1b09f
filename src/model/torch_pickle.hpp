#pragma once
// Reads a state_dict that Python saved with torch.save(model.state_dict(), path).
// LibTorch's own pickle_load returns None for the OrderedDict that state_dict() is, so this
// is a small unpickler for the subset of pickle that torch.save writes. Internal header.
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace xraykit {

/// Entries in file order. ModelError naming the path if the file is not a readable
/// torch.save zip archive of a dict of tensors.
std::vector<std::pair<std::string, torch::Tensor>> read_torch_state_dict(const std::string& path);

}  // namespace xraykit
