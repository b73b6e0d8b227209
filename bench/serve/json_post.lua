-- wrk -s json_post.lua: one JSON request body POSTed over and over: the OIP v2 JSON request
-- (POST /v2/models/M/infer, tensor "x" [1, width] FP32) or the TFaaS one (POST /json, {"keys":
-- [feature names], "values": [one row], "model": M}). The body is the file $M4H_BENCH_BODY
-- (serve_bench.sh writes both).
local path = assert(os.getenv("M4H_BENCH_BODY"), "set M4H_BENCH_BODY to the request body file")
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
