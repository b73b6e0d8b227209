#include "root/basket.h"

#include "root/compression.h"
#include "root/cursor.h"

namespace m4h::root {

namespace {

// Splits off the entry offsets stored after the data (relative to the key start on disk).
void take_offsets(BasketData& d, std::span<const uint8_t> after_border, int keylen, Cursor& where) {
  if (after_border.size() < 4) return;
  Cursor c(after_border, where.abs_pos());
  int32_t n = c.i32();
  if (n < 0 || static_cast<std::size_t>(n) * 4 > c.remaining())
    where.fail("basket entry-offset count " + std::to_string(n) + " is invalid");
  if (n < d.entries) where.fail("basket has " + std::to_string(n) + " entry offsets for " +
                                std::to_string(d.entries) + " entries");
  d.offsets.resize(static_cast<std::size_t>(d.entries) + 1);
  // One pass: convert, and check each offset lies in the data and does not decrease.
  const uint8_t* p = after_border.data() + 4;
  int64_t prev = 0;
  for (int64_t i = 0; i < d.entries; ++i) {
    const int64_t o = static_cast<int64_t>(load_be<int32_t>(p + 4 * i)) - keylen;
    if (o < prev || o > d.border) {
      if (o < 0 || o > d.border) where.fail("basket entry offset " + std::to_string(o) + " outside data");
      where.fail("basket entry offsets are not increasing");
    }
    d.offsets[i] = static_cast<int32_t>(o);
    prev = o;
  }
  d.offsets[d.entries] = static_cast<int32_t>(d.border);
}

}  // namespace

BasketData parse_basket(std::span<const uint8_t> stored, uint64_t at) {
  BasketData d;
  parse_basket_into(stored, at, d);
  return d;
}

void parse_basket_into(std::span<const uint8_t> stored, uint64_t at, BasketData& d) {
  d.bytes.clear();
  d.offsets.clear();
  Cursor c(stored, at);
  Key key = parse_key_numbers(c);
  if (key.keylen < 19 || static_cast<std::size_t>(key.keylen) > stored.size())
    c.fail("basket key length " + std::to_string(key.keylen) + " is invalid");
  c.seek(static_cast<std::size_t>(key.keylen) - 19);
  c.u16();  // basket version
  c.i32();  // buffer size
  c.i32();  // fNevBufSize
  int32_t nev = c.i32();
  int32_t last = c.i32();
  if (nev < 0) c.fail("negative basket entry count");
  d.entries = nev;
  d.border = static_cast<int64_t>(last) - key.keylen;
  if (d.border < 0 || d.border > key.objlen)
    c.fail("basket fLast " + std::to_string(last) + " inconsistent with its key");
  auto payload = stored.subspan(key.keylen);
  if (static_cast<int64_t>(payload.size()) != key.nbytes - key.keylen)
    c.fail("basket stored size differs from its key");
  if (key.is_compressed()) {
    try {
      decompress_record(payload, static_cast<std::size_t>(key.objlen), d.bytes);
    } catch (Error& e) {
      e.add_context("basket at offset " + std::to_string(at));
      throw;
    }
  } else {
    assign_bytes(d.bytes, payload.data(), payload.size());
  }
  if (static_cast<int64_t>(d.bytes.size()) > d.border)
    take_offsets(d, std::span<const uint8_t>(d.bytes).subspan(d.border), key.keylen, c);
}

namespace {

std::string basket_context(const File& file, const BranchInfo& branch, std::size_t index) {
  return file.url() + ": branch '" + branch.path + "' basket " + std::to_string(index);
}

void check_basket_into(const BasketRef& r, std::span<const uint8_t> stored, BasketData& d) {
  parse_basket_into(stored, static_cast<uint64_t>(r.seek), d);
  if (d.entries != r.entries)
    throw Error(ErrorCode::kCorrupt, "basket at offset " + std::to_string(r.seek) + " holds " +
                                         std::to_string(d.entries) + " entries, the branch says " +
                                         std::to_string(r.entries));
}

BasketData checked_basket(const BasketRef& r, std::span<const uint8_t> stored) {
  BasketData d;
  check_basket_into(r, stored, d);
  return d;
}

BasketData embedded_basket(const Object& b) {
  BasketData d;
  d.entries = b.i64("fNevBuf");
  assign_bytes(d.bytes, b.payload.data(), b.payload.size());
  d.border = static_cast<int64_t>(d.bytes.size());
  auto offs = b.ints("fEntryOffset");
  int64_t keylen = b.i64("fKeylen");
  if (!offs.empty() && static_cast<int64_t>(offs.size()) >= d.entries) {
    d.offsets.resize(static_cast<std::size_t>(d.entries) + 1);
    int64_t prev = 0;
    for (int64_t i = 0; i < d.entries; ++i) {
      int64_t o = offs[i] - keylen;
      if (o < 0 || o > d.border) throw Error(ErrorCode::kCorrupt, "embedded basket entry offset out of range");
      if (o < prev) throw Error(ErrorCode::kCorrupt, "embedded basket entry offsets are not increasing");
      d.offsets[i] = static_cast<int32_t>(o);
      prev = o;
    }
    d.offsets[d.entries] = static_cast<int32_t>(d.border);
  }
  return d;
}

}  // namespace

BasketData basket_from_stored(const File& file, const BranchInfo& branch, std::size_t index,
                              std::span<const uint8_t> stored) {
  BasketData d;
  basket_from_stored_into(file, branch, index, stored, d);
  return d;
}

void basket_from_stored_into(const File& file, const BranchInfo& branch, std::size_t index,
                             std::span<const uint8_t> stored, BasketData& d) {
  try {
    check_basket_into(branch.baskets.at(index), stored, d);
  } catch (Error& e) {
    e.add_context(basket_context(file, branch, index));
    throw;
  }
}

BasketData load_basket(const File& file, const BranchInfo& branch, std::size_t index) {
  const BasketRef& r = branch.baskets.at(index);
  try {
    if (r.embedded) return embedded_basket(*r.embedded);
    if (r.bytes <= 0) throw Error(ErrorCode::kCorrupt, "basket size " + std::to_string(r.bytes) + " is invalid");
    auto stored = file.source().read(static_cast<uint64_t>(r.seek), static_cast<uint64_t>(r.bytes));
    return checked_basket(r, stored);
  } catch (Error& e) {
    e.add_context(basket_context(file, branch, index));
    throw;
  }
}

}  // namespace m4h::root
