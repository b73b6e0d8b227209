-- wrk -s tfaas_json.lua: TFaaS JSON API, POST /json with {"keys": [feature names], "values":
-- [one row], "model": M}; the body is the file $M4H_BENCH_BODY (serve_bench.sh writes it).
local path = assert(os.getenv("M4H_BENCH_BODY"), "set M4H_BENCH_BODY to the request body file")
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
