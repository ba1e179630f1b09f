#include "model/torch_pickle.hpp"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace xraykit {

using NamedTensorList = std::vector<std::pair<std::string, torch::Tensor>>;

namespace {

struct Obj;
using ObjPtr = std::shared_ptr<Obj>;

// Limits that a state_dict never comes near and a hostile file hits at once: nesting (whose
// destruction would recurse as deep) and the number of objects and memo entries.
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxObjects = 1'000'000;  // a ResNet-152 state_dict makes about 30,000
constexpr std::size_t kMaxMemo = 1'000'000;

struct Obj {
  enum Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor, Other, Mark } kind = None;
  int depth = 1;  // 1 + the deepest object this one holds
  std::int64_t i = 0;
  double f = 0;
  std::string s;  // string value, or "module.name" of a global / other object
  std::vector<ObjPtr> items;
  std::vector<std::pair<ObjPtr, ObjPtr>> dict;
  torch::Tensor tensor;  // Storage: flat storage; Tensor: the tensor
};

torch::Dtype storage_dtype(const std::string& name) {
  static const std::map<std::string, torch::Dtype> types = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  const auto it = types.find(name);
  if (it == types.end()) throw ModelError(fmt::format("unsupported tensor storage type '{}'", name));
  return it->second;
}

class Unpickler {
 public:
  Unpickler(const std::uint8_t* data, std::size_t size, caffe2::serialize::PyTorchStreamReader& zip)
      : p_(data), end_(data + size), zip_(zip) {}
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;
  // Every object was registered when made: emptying them all first means no destructor
  // recurses through a hostile file's nesting, and reference cycles (a list appended to
  // itself through the memo) are broken instead of leaked.
  ~Unpickler() {
    for (const auto& o : all_) {
      o->items.clear();
      o->dict.clear();
    }
  }

  ObjPtr run() {
    for (;;) {
      const std::uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                     // PROTO
        case 0x95: take(8); break;                    // FRAME
        case '.': return pop();                       // STOP
        case '(': push(make(Obj::Mark)); break;       // MARK
        case 'N': push(make(Obj::None)); break;
        case 0x88: case 0x89: { auto o = make(Obj::Bool); o->i = op == 0x88; push(o); break; }
        case 'K': push_int(byte()); break;            // BININT1
        case 'M': push_int(le(2)); break;             // BININT2
        case 'J': push_int(static_cast<std::int32_t>(le(4))); break;  // BININT
        case 0x8a: {                                  // LONG1
          const std::size_t n = byte();
          if (n > 8) throw bad("integer too long");
          std::uint64_t v = n ? le(n) : 0;
          if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ULL << (8 * n);  // sign-extend
          push_int(static_cast<std::int64_t>(v));
          break;
        }
        case 'G': {                                   // BINFLOAT, big-endian
          std::uint64_t bits = 0;
          for (const std::uint8_t* b = take(8), *e = b + 8; b < e; ++b) bits = (bits << 8) | *b;
          auto o = make(Obj::Float);
          std::memcpy(&o->f, &bits, 8);
          push(o);
          break;
        }
        case 'X': push_str(le(4)); break;             // BINUNICODE
        case 0x8c: push_str(byte()); break;           // SHORT_BINUNICODE
        case 'U': push_str(byte()); break;            // SHORT_BINSTRING
        case 'T': push_str(le(4)); break;             // BINSTRING
        case 'C': push_str(byte()); break;            // SHORT_BINBYTES
        case 'B': push_str(le(4)); break;             // BINBYTES
        case ')': case '}': case ']': case 't': case 0x85: case 0x86: case 0x87:
        case 's': case 'u': case 'a': case 'e': container(op); break;
        case 'c': {                                   // GLOBAL
          auto o = make(Obj::Global);
          o->s = line();
          o->s += "." + line();
          push(o);
          break;
        }
        case 0x93: {                                  // STACK_GLOBAL
          auto name = pop(), module = pop();
          auto o = make(Obj::Global);
          o->s = module->s + "." + name->s;
          push(o);
          break;
        }
        case 'q': remember(byte()); break;            // BINPUT
        case 'r': remember(le(4)); break;             // LONG_BINPUT
        case 0x94: remember(memo_.size()); break;     // MEMOIZE
        case 'h': push(memo(byte())); break;          // BINGET
        case 'j': push(memo(le(4))); break;           // LONG_BINGET
        case 'b': pop(); break;                       // BUILD: state (e.g. _metadata) is not needed
        case 'Q': push(storage(pop())); break;        // BINPERSID
        case 'R': { auto args = pop(), fn = pop(); push(holding(reduce(fn, args), {args})); break; }
        case 0x81: { pop(); auto cls = pop(); auto o = make(Obj::Other); o->s = cls->s; push(o); break; }  // NEWOBJ
        default: throw bad(fmt::format("unsupported pickle opcode 0x{:02x}", op));
      }
    }
  }

  // The opcodes that make and fill tuples, dicts and lists.
  void container(std::uint8_t op) {
    switch (op) {
      case ')': push(make(Obj::Tuple)); break;
      case '}': push(make(Obj::Dict)); break;
      case ']': push(make(Obj::List)); break;
      case 't': { auto o = make(Obj::Tuple); o->items = pop_to_mark(); push(holding(o)); break; }
      case 0x85: case 0x86: case 0x87: {            // TUPLE1..3
        auto o = make(Obj::Tuple);
        o->items.resize(op - 0x84);
        for (auto it = o->items.rbegin(); it != o->items.rend(); ++it) *it = pop();
        push(holding(o));
        break;
      }
      case 's': { auto v = pop(), k = pop(); auto d = dict(top()); d->dict.emplace_back(k, v); holding(d, {k, v}); break; }
      case 'u': {
        auto items = pop_to_mark();
        if (items.size() % 2) throw bad("odd SETITEMS");
        auto d = dict(top());
        for (std::size_t k = 0; k < items.size(); k += 2) d->dict.emplace_back(items[k], items[k + 1]);
        holding(d, items);
        break;
      }
      case 'a': { auto v = pop(); auto l = top(); l->items.push_back(v); holding(l, {v}); break; }
      case 'e': {
        auto items = pop_to_mark();
        auto l = top();
        l->items.insert(l->items.end(), items.begin(), items.end());
        holding(l, items);
        break;
      }
    }
  }

 private:
  ModelError bad(const std::string& what) { return ModelError("malformed state_dict pickle: " + what); }
  const std::uint8_t* take(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) throw bad("unexpected end of data");
    const std::uint8_t* at = p_;
    p_ += n;
    return at;
  }
  std::uint8_t byte() { return *take(1); }
  std::uint64_t le(std::size_t n) {
    const std::uint8_t* b = take(n);
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k) v |= static_cast<std::uint64_t>(b[k]) << (8 * k);
    return v;
  }
  std::string line() {
    std::string s;
    for (char c; (c = static_cast<char>(byte())) != '\n';) s += c;
    return s;
  }
  void push(ObjPtr o) { stack_.push_back(std::move(o)); }
  void push_int(std::int64_t v) { auto o = make(Obj::Int); o->i = v; push(o); }
  void push_str(std::size_t n) {
    const std::uint8_t* b = take(n);
    auto o = make(Obj::Str);
    o->s.assign(reinterpret_cast<const char*>(b), n);
    push(o);
  }
  ObjPtr pop() {
    if (stack_.empty()) throw bad("stack underflow");
    ObjPtr o = std::move(stack_.back());
    stack_.pop_back();
    return o;
  }
  ObjPtr top() {
    if (stack_.empty()) throw bad("stack underflow");
    return stack_.back();
  }
  std::vector<ObjPtr> pop_to_mark() {
    std::vector<ObjPtr> items;
    for (ObjPtr o; (o = pop())->kind != Obj::Mark;) items.push_back(o);
    return {items.rbegin(), items.rend()};
  }
  // Records that `o` holds `children` (all its items when none are named); refuses nesting
  // deeper than kMaxDepth, which a state_dict never needs.
  ObjPtr holding(ObjPtr o, const std::vector<ObjPtr>& children = {}) {
    const auto& held = children.empty() ? o->items : children;
    for (const auto& c : held) o->depth = std::max(o->depth, c->depth + 1);
    if (o->depth > kMaxDepth) throw bad(fmt::format("objects nested deeper than {}", kMaxDepth));
    return o;
  }
  ObjPtr holding(ObjPtr o, std::initializer_list<ObjPtr> children) { return holding(std::move(o), std::vector<ObjPtr>(children)); }
  void remember(std::uint64_t key) {
    if (memo_.size() >= kMaxMemo && !memo_.count(key)) throw bad("too many memo entries");
    memo_[key] = top();
  }
  ObjPtr memo(std::uint64_t k) {
    const auto it = memo_.find(k);
    if (it == memo_.end()) throw bad("unknown memo entry");
    return it->second;
  }
  ObjPtr dict(ObjPtr o) {
    if (o->kind != Obj::Dict) throw bad("SETITEM on something that is not a dict");
    return o;
  }

  // Persistent id ('storage', StorageType, key, location, numel) -> the storage's data.
  ObjPtr storage(ObjPtr pid) {
    if (pid->kind != Obj::Tuple || pid->items.size() < 5 || pid->items[0]->s != "storage")
      throw bad("unexpected persistent id");
    const std::string& key = pid->items[2]->s;
    const auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const torch::Dtype dtype = storage_dtype(pid->items[1]->s);
    const std::int64_t numel = pid->items[4]->i;
    const std::string record = "data/" + key;
    if (!zip_.hasRecord(record)) throw ModelError(fmt::format("state_dict archive lacks record '{}'", record));
    const std::size_t element = torch::elementSize(dtype);
    if (numel < 0 || static_cast<std::uint64_t>(numel) > SIZE_MAX / element)
      throw ModelError(fmt::format("state_dict record '{}' claims {} elements", record, numel));
    auto [data, size] = zip_.getRecord(record);
    if (size != static_cast<std::size_t>(numel) * element)
      throw ModelError(fmt::format("state_dict record '{}' has {} bytes, expected {}", record, size,
                                   static_cast<std::size_t>(numel) * element));
    auto o = make(Obj::Storage);
    // The record's buffer becomes the storage, uncopied: a model's weights are tens of MB,
    // and each copy costs more in fresh pages than in the copying.
    auto owner = std::make_shared<at::DataPtr>(std::move(data));
    o->tensor = torch::from_blob(owner->get(), {numel}, [owner](void*) {}, torch::TensorOptions(dtype));
    storages_[key] = o;
    return o;
  }

  // A view must lie inside its storage and hold no more elements than it: a state_dict's
  // tensors do, and a hostile file's zero strides would otherwise make a small file expand
  // into gigabytes. Checked in 128-bit arithmetic, so no product overflows.
  void check_view(std::int64_t storage, const std::vector<std::int64_t>& sizes, const std::vector<std::int64_t>& strides,
                  std::int64_t offset) {
    if (sizes.size() != strides.size() || sizes.size() > 16 || offset < 0) throw bad("malformed tensor view");
    __int128 elements = 1, last = offset;
    for (std::size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] < 0 || strides[d] < 0) throw bad("negative tensor size or stride");
      elements *= sizes[d];
      if (elements > storage && elements > 0) throw bad("tensor view larger than its storage");
      if (sizes[d] > 0) last += static_cast<__int128>(sizes[d] - 1) * strides[d];
    }
    if (elements > 0 && last >= storage) throw bad("tensor view outside its storage");
  }

  static std::vector<std::int64_t> ints(const ObjPtr& t) {
    std::vector<std::int64_t> v;
    for (const auto& x : t->items) v.push_back(x->i);
    return v;
  }

  ObjPtr reduce(ObjPtr fn, ObjPtr args) {
    if (fn->s == "collections.OrderedDict") return make(Obj::Dict);
    // LibTorch's pickle_save (xraykit model files) tags typed containers: (dict, "Dict[str, Tensor]").
    if (fn->s == "torch.jit._pickle.restore_type_tag") {
      if (args->kind != Obj::Tuple || args->items.empty()) throw bad("bad type tag arguments");
      return args->items[0];
    }
    if (fn->s == "torch._utils._rebuild_tensor_v2" || fn->s == "torch._utils._rebuild_tensor") {
      if (args->items.size() < 4 || args->items[0]->kind != Obj::Storage) throw bad("bad tensor arguments");
      const torch::Tensor& flat = args->items[0]->tensor;
      const auto sizes = ints(args->items[2]), strides = ints(args->items[3]);
      const std::int64_t offset = args->items[1]->i;
      check_view(flat.numel(), sizes, strides, offset);
      auto o = make(Obj::Tensor);
      o->tensor = flat.as_strided(sizes, strides, offset).contiguous();  // a view where it can be
      return o;
    }
    if (fn->s == "torch._utils._rebuild_parameter") {
      if (args->items.empty() || args->items[0]->kind != Obj::Tensor) throw bad("bad parameter arguments");
      return args->items[0];
    }
    auto o = make(Obj::Other);
    o->s = fn->s;
    return o;
  }

  ObjPtr make(Obj::Kind k) {
    if (all_.size() >= kMaxObjects) throw bad("too many objects");
    auto o = std::make_shared<Obj>();
    o->kind = k;
    all_.push_back(o);
    return o;
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
  std::vector<ObjPtr> all_;
  caffe2::serialize::PyTorchStreamReader& zip_;
  std::vector<ObjPtr> stack_;
  std::map<std::uint64_t, ObjPtr> memo_;
  std::map<std::string, ObjPtr> storages_;
};

// Reads the archive from memory (a model file's section) without copying it.
class MemoryAdapter : public caffe2::serialize::ReadAdapterInterface {
 public:
  MemoryAdapter(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  size_t size() const override { return size_; }
  size_t read(uint64_t pos, void* buf, size_t n, const char*) const override {
    if (pos >= size_ || n == 0) return 0;  // miniz asks for 0 bytes into a null buffer (found by fuzzing)
    const std::size_t k = std::min<std::size_t>(n, size_ - pos);
    std::memcpy(buf, data_ + pos, k);
    return k;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

NamedTensorList read_archive(caffe2::serialize::PyTorchStreamReader& zip) {
  if (!zip.hasRecord("data.pkl")) throw ModelError("no data.pkl record (a TorchScript file, not a state_dict?)");
  auto [data, size] = zip.getRecord("data.pkl");
  Unpickler u(static_cast<const std::uint8_t*>(data.get()), size, zip);
  const ObjPtr root = u.run();
  if (root->kind != Obj::Dict) throw ModelError("the file holds no dict of tensors");
  NamedTensorList out;
  for (const auto& [k, v] : root->dict) {
    if (k->kind != Obj::Str) throw ModelError("a state_dict key is not a string");
    if (v->kind != Obj::Tensor) throw ModelError(fmt::format("state_dict entry '{}' is not a tensor", k->s));
    out.emplace_back(k->s, v->tensor);
  }
  return out;
}

}  // namespace

NamedTensorList read_torch_state_dict(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> zip;
  try {
    zip = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error&) {
    throw ModelError(fmt::format("{}: not a PyTorch zip archive (torch.save of PyTorch >= 1.6 expected)", path));
  }
  try {
    return read_archive(*zip);
  } catch (const ModelError& e) {
    throw ModelError(fmt::format("{}: {}", path, e.what()));
  } catch (const c10::Error& e) {
    throw ModelError(fmt::format("{}: unreadable archive ({})", path, e.what_without_backtrace()));
  }
}

NamedTensorList read_torch_state_dict(const std::uint8_t* data, std::size_t size, const std::string& origin) {
  try {
    caffe2::serialize::PyTorchStreamReader zip(std::make_shared<MemoryAdapter>(data, size));
    return read_archive(zip);
  } catch (const ModelError& e) {
    throw ModelError(fmt::format("{}: {}", origin, e.what()));
  } catch (const c10::Error& e) {
    throw ModelError(fmt::format("{}: unreadable weights ({})", origin, e.what_without_backtrace()));
  }
}

}  // namespace xraykit
