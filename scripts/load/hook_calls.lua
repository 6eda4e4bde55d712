-- wrk script of the load run (scripts/load/run.py): POST patient-view calls with a fresh JWT each.
-- Args after `--`: tokens file, bodies manifest, number of threads, every n-th request large, path.
-- The manifest has lines "small<TAB>file" or "large<TAB>file"; a body's hookInstance placeholder
-- (12 characters "HOOKINSTANCE") becomes 12 hex digits unique per thread and request.
-- Each thread takes every n-th token; a token is used once (the service refuses a replayed jti).
-- done() prints one JSON line after the marker "LOAD-RESULT " for run.py to read.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local function split_body(data)
  local at = assert(string.find(data, "HOOKINSTANCE", 1, true), "no hookInstance placeholder")
  return { string.sub(data, 1, at - 1), string.sub(data, at + 12) }
end

function init(args)
  local tokens_file, manifest, nthreads, every = args[1], args[2], tonumber(args[3]), tonumber(args[4])
  path = args[5]
  large_every = every
  tokens, small, large = {}, {}, {}
  local line_no = 0
  for line in io.lines(tokens_file) do
    if line_no % nthreads == id - 1 then tokens[#tokens + 1] = line end
    line_no = line_no + 1
  end
  for line in io.lines(manifest) do
    local kind, file = string.match(line, "^(%a+)\t(.+)$")
    local parts = split_body(read_file(file))
    if kind == "large" then large[#large + 1] = parts else small[#small + 1] = parts end
  end
  next_token, sent, n_small, n_large = 1, 0, 0, 0
  exhausted, no_cards = 0, 0
  statuses, per_second = {}, {}
end

function request()
  sent = sent + 1
  local token = tokens[next_token]
  next_token = next_token + 1
  if token == nil then
    exhausted = exhausted + 1
    wrk.thread:stop()
    token = "exhausted"
  end
  local parts
  if large_every > 0 and sent % large_every == 0 then
    n_large = n_large + 1
    parts = large[(n_large - 1) % #large + 1]
  else
    n_small = n_small + 1
    parts = small[(n_small - 1) % #small + 1]
  end
  local body = parts[1] .. string.format("%04x%08x", id, sent) .. parts[2]
  return wrk.format("POST", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 and not string.find(body, '"cards"', 1, true) then no_cards = no_cards + 1 end
  local second = os.time()
  per_second[second] = (per_second[second] or 0) + 1
end

-- A tiny JSON encoder for tables of numbers and strings (the keys become strings).
local function encode(value)
  if type(value) == "table" then
    local parts = {}
    for k, v in pairs(value) do parts[#parts + 1] = string.format("%q:%s", tostring(k), encode(v)) end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif type(value) == "string" then
    return string.format("%q", value)
  end
  return tostring(value)
end

function done(summary, latency, requests)
  local result = {
    duration_us = summary.duration, requests = summary.requests, bytes = summary.bytes,
    errors = summary.errors,
    latency_us = {
      min = latency.min, max = latency.max, mean = latency.mean, stdev = latency.stdev,
      p50 = latency:percentile(50), p90 = latency:percentile(90), p95 = latency:percentile(95),
      p99 = latency:percentile(99), p999 = latency:percentile(99.9),
    },
    statuses = {}, per_second = {}, sent = 0, small = 0, large = 0, exhausted = 0, no_cards = 0,
  }
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses")) do result.statuses[k] = (result.statuses[k] or 0) + v end
    for k, v in pairs(thread:get("per_second")) do result.per_second[k] = (result.per_second[k] or 0) + v end
    result.sent = result.sent + thread:get("sent")
    result.small = result.small + thread:get("n_small")
    result.large = result.large + thread:get("n_large")
    result.exhausted = result.exhausted + thread:get("exhausted")
    result.no_cards = result.no_cards + thread:get("no_cards")
  end
  io.write("LOAD-RESULT ", encode(result), "\n")
end
