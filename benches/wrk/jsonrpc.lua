-- wrk script: POST one JSON-RPC request, given by the METHOD and PARAMS
-- environment variables (PARAMS is a JSON array). wrk's threads keep
-- separate Lua states, so check one response by hand (curl) first: a
-- JSON-RPC error is also an HTTP 200.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"' .. os.getenv("METHOD") .. '","params":' .. os.getenv("PARAMS") .. '}'
done = function(summary, latency, requests)
  io.write(string.format("p50_ms %.3f p99_ms %.3f max_ms %.3f requests %d non2xx %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, summary.requests, summary.errors.status))
end
