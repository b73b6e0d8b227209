// The layouts of the ROOT classes our writer emits (TTree v20, TBranch v13, TBranchElement v10,
// leaves, their bases), as ROOT 6 defines them, with ROOT's checksums. A written file carries
// these in its streamer record, and our own reader follows them like any other file's.
#pragma once

#include <string>
#include <vector>

#include "root/streamer.h"

namespace m4h::root {

// Every class our tree writer serialises.
const StreamerRegistry& known_streamers();

// The streamer info of an STL container class ("vector<float>"): one element "This".
StreamerInfo stl_streamer_info(const std::string& class_name, int ctype);

// ROOT's checksum of an STL container class: the name hashed as id = id * 3 + char.
uint32_t stl_checksum(const std::string& class_name);

}  // namespace m4h::root
