-- The load of benchmarks/service_load.py for wrk: each request posts a batch of probability
-- records with ids unique to the run; the 2xx answers are counted per thread.
--
-- wrk -s service_load.lua URL -- BATCH PATH TOKEN PROBS_FILE TAG IDS
--   BATCH       records per request
--   PATH        the records route
--   TOKEN       an API key ("" for none)
--   PROBS_FILE  probability vectors as JSON arrays, one per line
--   TAG         a prefix that keeps the ids of two runs apart
--   IDS         "sequential" (thread-request-index: each request's ids sort together) or
--               "random" (93 random bits in hex, as UUIDs would be)
-- Prints one line: RESULT requests=... acked=... other=... seconds=... p50=... p99=... (ms).

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local probs = {}
local batch, path, token, tag, random_ids

function init(args)
  batch = tonumber(args[1])
  path = args[2]
  token = args[3]
  local file = io.open(args[4], "r")
  for line in file:lines() do probs[#probs + 1] = line end
  file:close()
  tag = args[5]
  random_ids = args[6] == "random"
  math.randomseed(os.time() + tid * 7919)
  sent, acked, other = 0, 0, 0
end

function request()
  sent = sent + 1
  local parts = {}
  for i = 1, batch do
    local id
    if random_ids then
      id = tag .. string.format("%08x%08x%08x", math.random(0, 0x7fffffff),
        math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
    else
      id = tag .. tid .. "-" .. sent .. "-" .. i
    end
    parts[i] = '{"id":"' .. id .. '","probabilities":'
      .. probs[((sent * batch + i) % #probs) + 1] .. "}"
  end
  local headers = {["Content-Type"] = "application/json"}
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", path, headers, '{"records":[' .. table.concat(parts, ",") .. "]}")
end

function response(status, headers, body)
  if status >= 200 and status < 300 then acked = acked + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("acked")
    bad = bad + thread:get("other")
  end
  io.write(string.format(
    "RESULT requests=%d acked=%d other=%d errors=%d seconds=%.3f p50=%.3f p99=%.3f\n",
    summary.requests, ok, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
end
