-- wrk -s oip_binary.lua: Open Inference Protocol v2 with the binary tensor data extension.
-- Body = the JSON header ($M4H_BENCH_HEADER: "x" with parameters.binary_data_size, and
-- "binary_data_output": true) followed by the raw little-endian FP32 values ($M4H_BENCH_DATA);
-- Inference-Header-Content-Length = the header's size in bytes.
local function slurp(var)
  local path = assert(os.getenv(var), "set " .. var)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end
local header = slurp("M4H_BENCH_HEADER")
local data = slurp("M4H_BENCH_DATA")
wrk.method = "POST"
wrk.body = header .. data
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = tostring(#header)
