-- wrk -s oip_json.lua: Open Inference Protocol v2 JSON request, POST /v2/models/M/infer.
-- The body (tensor "x", [1, width], FP32) is the file $M4H_BENCH_BODY (serve_bench.sh writes it).
local path = assert(os.getenv("M4H_BENCH_BODY"), "set M4H_BENCH_BODY to the request body file")
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
