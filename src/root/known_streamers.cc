#include "root/known_streamers.h"

namespace m4h::root {

namespace {

StreamerElement base(const std::string& name, int version, int type = etype::kBase) {
  StreamerElement e;
  e.kind = "TStreamerBase";
  e.name = name;
  e.type = type;
  e.type_name = "BASE";
  e.base_version = version;
  return e;
}

StreamerElement basic(const std::string& name, const std::string& type_name, int type, int size) {
  StreamerElement e;
  e.kind = "TStreamerBasicType";
  e.name = name;
  e.type_name = type_name;
  e.type = type;
  e.size = size;
  return e;
}

StreamerElement basic_pointer(const std::string& name, const std::string& type_name, int type,
                              const std::string& count, const std::string& count_class,
                              int count_version) {
  StreamerElement e;
  e.kind = "TStreamerBasicPointer";
  e.name = name;
  e.title = "[" + count + "]";
  e.type_name = type_name;
  e.type = type;
  e.size = 8;
  e.count_name = count;
  e.count_class = count_class;
  e.count_version = count_version;
  return e;
}

StreamerElement string_member(const std::string& name) {
  StreamerElement e;
  e.kind = "TStreamerString";
  e.name = name;
  e.type_name = "TString";
  e.type = etype::kTString;
  e.size = 24;
  return e;
}

StreamerElement object(const std::string& kind, const std::string& name,
                       const std::string& type_name, int type, int size,
                       const std::string& title = "") {
  StreamerElement e;
  e.kind = kind;
  e.name = name;
  e.title = title;
  e.type_name = type_name;
  e.type = type;
  e.size = size;
  return e;
}

StreamerInfo info(const std::string& name, int version, uint32_t checksum,
                  std::vector<StreamerElement> elements) {
  StreamerInfo i;
  i.name = name;
  i.class_version = version;
  i.checksum = checksum;
  i.elements = std::move(elements);
  return i;
}

// A leaf class TLeafX: TLeaf base plus fMinimum/fMaximum of its value type.
StreamerInfo leaf(const std::string& name, uint32_t checksum, const std::string& type_name,
                  int type, int size) {
  return info(name, 1, checksum,
              {base("TLeaf", 2), basic("fMinimum", type_name, type, size),
               basic("fMaximum", type_name, type, size)});
}

StreamerRegistry build() {
  using namespace etype;
  StreamerRegistry r;
  r.add(info("TObject", 1, 2417737773u,
             {basic("fUniqueID", "unsigned int", kUInt, 4), basic("fBits", "unsigned int", kBits, 4)}));
  r.add(info("TNamed", 1, 3753331260u,
             {base("TObject", 1, kTObject), string_member("fName"), string_member("fTitle")}));
  r.add(info("TAttLine", 2, 2483504457u,
             {basic("fLineColor", "short", kShort, 2), basic("fLineStyle", "short", kShort, 2),
              basic("fLineWidth", "short", kShort, 2)}));
  r.add(info("TAttFill", 2, 4292422290u,
             {basic("fFillColor", "short", kShort, 2), basic("fFillStyle", "short", kShort, 2)}));
  r.add(info("TAttMarker", 2, 689802220u,
             {basic("fMarkerColor", "short", kShort, 2), basic("fMarkerStyle", "short", kShort, 2),
              basic("fMarkerSize", "float", kFloat, 4)}));
  r.add(info("ROOT::TIOFeatures", 1, 446770960u, {basic("fIOBits", "unsigned char", kUChar, 1)}));
  r.add(info(
      "TTree", 20, 1919213695u,
      {base("TNamed", 1, kTNamed), base("TAttLine", 2), base("TAttFill", 2), base("TAttMarker", 2),
       basic("fEntries", "Long64_t", kLong64, 8), basic("fTotBytes", "Long64_t", kLong64, 8),
       basic("fZipBytes", "Long64_t", kLong64, 8), basic("fSavedBytes", "Long64_t", kLong64, 8),
       basic("fFlushedBytes", "Long64_t", kLong64, 8), basic("fWeight", "double", kDouble, 8),
       basic("fTimerInterval", "int", kInt, 4), basic("fScanField", "int", kInt, 4),
       basic("fUpdate", "int", kInt, 4), basic("fDefaultEntryOffsetLen", "int", kInt, 4),
       basic("fNClusterRange", "int", kCounter, 4), basic("fMaxEntries", "Long64_t", kLong64, 8),
       basic("fMaxEntryLoop", "Long64_t", kLong64, 8),
       basic("fMaxVirtualSize", "Long64_t", kLong64, 8), basic("fAutoSave", "Long64_t", kLong64, 8),
       basic("fAutoFlush", "Long64_t", kLong64, 8), basic("fEstimate", "Long64_t", kLong64, 8),
       basic_pointer("fClusterRangeEnd", "Long64_t*", kOffsetP + kLong64, "fNClusterRange", "TTree", 20),
       basic_pointer("fClusterSize", "Long64_t*", kOffsetP + kLong64, "fNClusterRange", "TTree", 20),
       object("TStreamerObjectAny", "fIOFeatures", "ROOT::TIOFeatures", kAny, 1),
       object("TStreamerObject", "fBranches", "TObjArray", kObject, 64),
       object("TStreamerObject", "fLeaves", "TObjArray", kObject, 64),
       object("TStreamerObjectPointer", "fAliases", "TList*", kObjectP, 8),
       object("TStreamerObjectAny", "fIndexValues", "TArrayD", kAny, 24),
       object("TStreamerObjectAny", "fIndex", "TArrayI", kAny, 24),
       object("TStreamerObjectPointer", "fTreeIndex", "TVirtualIndex*", kObjectP, 8),
       object("TStreamerObjectPointer", "fFriends", "TList*", kObjectP, 8),
       object("TStreamerObjectPointer", "fUserInfo", "TList*", kObjectP, 8),
       object("TStreamerObjectPointer", "fBranchRef", "TBranchRef*", kObjectP, 8)}));
  r.add(info(
      "TBranch", 13, 278366892u,
      {base("TNamed", 1, kTNamed), base("TAttFill", 2), basic("fCompress", "int", kInt, 4),
       basic("fBasketSize", "int", kInt, 4), basic("fEntryOffsetLen", "int", kInt, 4),
       basic("fWriteBasket", "int", kInt, 4), basic("fEntryNumber", "Long64_t", kLong64, 8),
       object("TStreamerObjectAny", "fIOFeatures", "ROOT::TIOFeatures", kAny, 1),
       basic("fOffset", "int", kInt, 4), basic("fMaxBaskets", "int", kCounter, 4),
       basic("fSplitLevel", "int", kInt, 4), basic("fEntries", "Long64_t", kLong64, 8),
       basic("fFirstEntry", "Long64_t", kLong64, 8), basic("fTotBytes", "Long64_t", kLong64, 8),
       basic("fZipBytes", "Long64_t", kLong64, 8),
       object("TStreamerObject", "fBranches", "TObjArray", kObject, 64, "->"),
       object("TStreamerObject", "fLeaves", "TObjArray", kObject, 64, "->"),
       object("TStreamerObject", "fBaskets", "TObjArray", kObject, 64, "->"),
       basic_pointer("fBasketBytes", "int*", kOffsetP + kInt, "fMaxBaskets", "TBranch", 13),
       basic_pointer("fBasketEntry", "Long64_t*", kOffsetP + kLong64, "fMaxBaskets", "TBranch", 13),
       basic_pointer("fBasketSeek", "Long64_t*", kOffsetP + kLong64, "fMaxBaskets", "TBranch", 13),
       string_member("fFileName")}));
  r.add(info("TBranchElement", 10, 3880738403u,
             {base("TBranch", 13), string_member("fClassName"), string_member("fParentName"),
              string_member("fClonesName"), basic("fCheckSum", "unsigned int", kUInt, 4),
              basic("fClassVersion", "short", kShort, 2), basic("fID", "int", kInt, 4),
              basic("fType", "int", kInt, 4), basic("fStreamerType", "int", kInt, 4),
              basic("fMaximum", "int", kInt, 4),
              object("TStreamerObjectPointer", "fBranchCount", "TBranchElement*", kObjectP, 8),
              object("TStreamerObjectPointer", "fBranchCount2", "TBranchElement*", kObjectP, 8)}));
  r.add(info("TLeaf", 2, 1830715730u,
             {base("TNamed", 1, kTNamed), basic("fLen", "int", kInt, 4),
              basic("fLenType", "int", kInt, 4), basic("fOffset", "int", kInt, 4),
              basic("fIsRange", "bool", kBool, 1), basic("fIsUnsigned", "bool", kBool, 1),
              object("TStreamerObjectPointer", "fLeafCount", "TLeaf*", kObjectP, 8)}));
  r.add(info("TLeafElement", 1, 2689566867u,
             {base("TLeaf", 2), basic("fID", "int", kInt, 4), basic("fType", "int", kInt, 4)}));
  r.add(leaf("TLeafO", 44976339u, "bool", kBool, 1));
  r.add(leaf("TLeafB", 253643614u, "char", kChar, 1));
  r.add(leaf("TLeafS", 353169103u, "short", kShort, 2));
  r.add(leaf("TLeafI", 2120920601u, "int", kInt, 4));
  r.add(leaf("TLeafL", 3727820898u, "Long64_t", kLong64, 8));
  r.add(leaf("TLeafF", 987602290u, "float", kFloat, 4));
  r.add(leaf("TLeafD", 294553462u, "double", kDouble, 8));
  r.add(leaf("TLeafC", 4226003699u, "int", kInt, 4));
  return r;
}

}  // namespace

uint32_t stl_checksum(const std::string& class_name) {
  uint32_t id = 0;
  for (unsigned char c : class_name) id = id * 3 + c;
  return id;
}

StreamerInfo stl_streamer_info(const std::string& class_name, int ctype) {
  StreamerElement e;
  e.kind = "TStreamerSTL";
  e.name = "This";
  e.type_name = class_name;
  e.type = etype::kStreamer;
  e.stl_type = 1;  // vector
  e.ctype = ctype;
  return info(class_name, 6, stl_checksum(class_name), {e});
}

const StreamerRegistry& known_streamers() {
  static const StreamerRegistry registry = build();
  return registry;
}

}  // namespace m4h::root
