-- wrk's script for bench/api_load.py: POST /api/voice/session, a new user id per request.
-- One wrk thread: a closed loop over C connections. After N responses (the script's first
-- argument) it prints BENCH_DONE and stops; the bench then interrupts wrk, whose main thread
-- otherwise sleeps out -d (the time cap). done() prints one JSON line (BENCH_JSON ...).
-- thread:get reads Lua globals; the clock is CLOCK_MONOTONIC through LuaJIT's ffi.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  limit, prefix = tonumber(args[1]), args[2]
  statuses, completed, counter, started, elapsed = {}, 0, 0, nil, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  started = started or now()
  counter = counter + 1
  local body = string.format('{"user_id":"%s-%d","agent_id":"pm-agent"}', prefix, counter)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  completed = completed + 1
  elapsed = now() - started
  if completed == limit then
    io.write("BENCH_DONE\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local thread = threads[1]
  local codes = {}
  for status, n in pairs(thread:get("statuses")) do
    table.insert(codes, string.format('"%d":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"seconds":%.6f,"mean":%.1f,"p50":%d,"p95":%d,"p99":%d,"max":%d,' ..
    '"statuses":{%s},"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    thread:get("completed"), thread:get("elapsed"), latency.mean, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max, table.concat(codes, ","),
    e.connect, e.read, e.write, e.timeout))
end
