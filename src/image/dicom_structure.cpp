#include "image/dicom_structure.hpp"

#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "xraykit/error.hpp"

namespace xraykit {

namespace {

constexpr std::uint32_t kUndefined = 0xFFFFFFFF;
constexpr std::uint16_t kItemGroup = 0xFFFE;
constexpr std::uint16_t kItem = 0xE000, kItemEnd = 0xE00D, kSequenceEnd = 0xE0DD;

std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

bool long_vr(char a, char b) {  // explicit VRs with a 2-byte gap and a 4-byte length
  static const char* kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
  for (const char* v : kLong)
    if (v[0] == a && v[1] == b) return true;
  return false;
}

[[noreturn]] void refuse(const std::string& why) { throw ImageError("malformed DICOM file (" + why + ")"); }

// DCMTK 3.6.7 walks the markers of a JPEG frame's first fragment for its sample precision and
// loops for ever on a TEM marker (FF01) met before the frame header (DCMTK bug #1190: a 1 KB
// file hung `xraykit predict`; fixed upstream in 2026, not in Debian 12). The same walk here,
// refusing where DCMTK would loop.
void check_jpeg_fragment(const std::uint8_t* d, std::size_t n) {
  std::size_t at = 0;
  while (at + 4 < n) {
    const unsigned marker = (d[at] << 8) | d[at + 1];
    if (marker == 0xFF01) refuse("a JPEG fragment with a TEM marker before its frame header");
    const bool with_length = marker == 0xFFC4 || marker == 0xFFC8 || marker == 0xFFCC || (marker >= 0xFFDA && marker <= 0xFFFE);
    if (marker >= 0xFFC0 && marker <= 0xFFCF && !with_length) return;  // a frame header: DCMTK stops here
    if (with_length)
      at += ((d[at + 2] << 8) | d[at + 3]) + 2;
    else if (marker == 0xFFFF)
      at += 1;
    else if ((marker >= 0xFFD0 && marker <= 0xFFD9) || (d[at] == 0xFF && d[at + 1] > 2 && d[at + 1] <= 0xBF))
      at += 2;
    else
      return;  // not a marker: DCMTK stops with an error
  }
}

// The transfer syntaxes DCMTK's JPEG decoder (dcmjpeg) reads: 1.2.840.10008.1.2.4.50 to .70.
bool jpeg_syntax(const std::string& syntax) {
  const std::string prefix = "1.2.840.10008.1.2.4.";
  if (syntax.size() != prefix.size() + 2 || syntax.compare(0, prefix.size(), prefix) != 0) return false;
  const int n = std::atoi(syntax.c_str() + prefix.size());
  return n >= 50 && n <= 70;
}

// One open sequence or item: where it ends (SIZE_MAX: undefined length, ended by a delimiter)
// and whether its content is a dataset (items of SQ) or raw fragments (encapsulated pixels).
struct Open {
  std::size_t end;
  bool items;  // a sequence: its content is items
  bool raw;    // encapsulated pixel data: items hold bytes, not elements
  int fragments = 0;  // items seen so far, when raw (the first is the offset table)
};

class Walker {
 public:
  Walker(const std::uint8_t* b, std::size_t n, bool explicit_vr, bool jpeg) : b_(b), n_(n), explicit_(explicit_vr), jpeg_(jpeg) {}

  void run(std::size_t pos) {
    while (true) {
      while (!open_.empty() && open_.back().end != SIZE_MAX && pos == open_.back().end) open_.pop_back();
      if (pos == limit()) {
        if (open_.empty()) return;
        refuse("a sequence or item runs past its end");
      }
      pos = step(pos);
    }
  }

 private:
  std::size_t limit() const { return open_.empty() ? n_ : (open_.back().end == SIZE_MAX ? n_ : open_.back().end); }

  void need(std::size_t pos, std::size_t bytes) const {
    if (bytes > limit() - pos) refuse("truncated element");
  }

  void push(Open o) {
    if (open_.size() >= 2 * kMaxDicomNesting)  // a sequence and its item per level
      refuse(fmt::format("sequences nested deeper than {}", kMaxDicomNesting));
    open_.push_back(o);
  }

  std::size_t value_end(std::size_t pos, std::uint32_t length) const {
    if (length > limit() - pos) refuse("an element is longer than the file");
    return pos + length;
  }

  std::size_t step(std::size_t pos) {
    need(pos, 8);
    const std::uint16_t group = u16(b_ + pos), element = u16(b_ + pos + 2);
    const bool in_sequence = !open_.empty() && open_.back().items;
    if (group == kItemGroup) return delimiter_or_item(pos, element, in_sequence);
    if (in_sequence) refuse("an element where a sequence item was expected");
    std::uint32_t length;
    std::size_t header;
    bool sequence = false;
    if (explicit_) {
      const char v0 = static_cast<char>(b_[pos + 4]), v1 = static_cast<char>(b_[pos + 5]);
      if (long_vr(v0, v1)) {
        need(pos, 12);
        length = u32(b_ + pos + 8);
        header = 12;
        sequence = v0 == 'S' && v1 == 'Q';
      } else {
        length = u16(b_ + pos + 6);
        header = 8;
      }
    } else {
      length = u32(b_ + pos + 4);
      header = 8;
    }
    pos += header;
    const bool pixels = group == 0x7FE0 && element == 0x0010;
    // Implicit VR does not say SQ: a value that starts with an item tag is walked as one.
    if (!explicit_ && length != kUndefined && length >= 8 && pos + 8 <= limit() && u16(b_ + pos) == kItemGroup &&
        u16(b_ + pos + 2) == kItem)
      sequence = true;
    if (length == kUndefined) {
      push({SIZE_MAX, true, pixels && !sequence});
      return pos;
    }
    const std::size_t end = value_end(pos, length);
    if (sequence) {
      push({end, true, false});
      return pos;
    }
    return end;
  }

  std::size_t delimiter_or_item(std::size_t pos, std::uint16_t element, bool in_sequence) {
    const std::uint32_t length = u32(b_ + pos + 4);
    pos += 8;
    if (element == kSequenceEnd || element == kItemEnd) {
      const bool want_items = element == kSequenceEnd;
      if (open_.empty() || open_.back().end != SIZE_MAX || open_.back().items != want_items)
        refuse("a delimiter that closes nothing");
      open_.pop_back();
      return pos;
    }
    if (element != kItem || !in_sequence) refuse("an item outside a sequence");
    if (open_.back().raw) {  // a fragment of encapsulated pixel data: bytes, skipped
      if (length == kUndefined) refuse("a pixel fragment of undefined length");
      const std::size_t end = value_end(pos, length);
      if (jpeg_ && open_.back().fragments++ == 1) check_jpeg_fragment(b_ + pos, length);
      return end;
    }
    push({length == kUndefined ? SIZE_MAX : value_end(pos, length), false, false});
    return pos;
  }

  const std::uint8_t* b_;
  std::size_t n_;
  bool explicit_;
  bool jpeg_;
  std::vector<Open> open_;
};

// The transfer syntax from the file meta group (always explicit VR little endian), and where
// the dataset starts.
std::size_t meta_group(const std::uint8_t* b, std::size_t n, std::string& syntax) {
  std::size_t pos = 132;
  while (pos + 8 <= n && u16(b + pos) == 0x0002) {
    const std::uint16_t element = u16(b + pos + 2);
    std::uint32_t length;
    std::size_t header = 8;
    if (long_vr(static_cast<char>(b[pos + 4]), static_cast<char>(b[pos + 5]))) {
      if (pos + 12 > n) refuse("truncated file meta information");
      length = u32(b + pos + 8);
      header = 12;
    } else {
      length = u16(b + pos + 6);
    }
    if (length == kUndefined || length > n - pos - header) refuse("file meta information longer than the file");
    if (element == 0x0010) {
      syntax.assign(reinterpret_cast<const char*>(b + pos + header), length);
      while (!syntax.empty() && (syntax.back() == '\0' || syntax.back() == ' ')) syntax.pop_back();
    }
    pos += header + length;
  }
  return pos;
}

}  // namespace

void check_dicom_structure(const std::uint8_t* bytes, std::size_t size) {
  // The walk starts after the preamble; found by fuzzing (scripts/fuzz.sh): callers check
  // the DICM marker first, but the walk must not rely on it.
  if (bytes == nullptr || size < 132) refuse("shorter than the 128-byte preamble and the DICM marker");
  std::string syntax;
  const std::size_t start = meta_group(bytes, size, syntax);
  if (syntax == "1.2.840.10008.1.2.1.99") refuse("deflated transfer syntax, not accepted");
  if (syntax == "1.2.840.10008.1.2.2") refuse("big-endian transfer syntax, not accepted");
  const bool implicit = syntax == "1.2.840.10008.1.2";  // every other syntax is explicit VR little endian
  Walker(bytes, size, !implicit, jpeg_syntax(syntax)).run(start);
}

}  // namespace xraykit
