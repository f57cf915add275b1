-- wrk script: POST one normalized event per request, a realistic mix over 10,000 tickets.
-- Each wrk thread owns the tickets t with t % threads == its id, so event ids never collide.
local threads, counter = {}, 0
local TICKETS = 10000
-- Events happened during the last day (ticket t's first one at t * 7 s after BASE, the next ones 90 s apart),
-- as live traffic does: clocks run, warn, breach and stop, instead of all being long breached.
local BASE = os.time() - 86400

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = counter > 0 and counter or 2
  seq = {}
  math.randomseed(4242 + tid)
  key_header = os.getenv("SLA_BENCH_KEY") or ""
end

local kinds = {
  function(k, s) return '"type":"comment","author_role":"agent","public":true' end,
  function(k, s) return '"type":"status_changed","to":"Waiting for customer","to_category":"waiting"' end,
  function(k, s) return '"type":"status_changed","to":"In Progress","to_category":"open"' end,
  function(k, s) return '"type":"comment","author_role":"customer","public":true' end,
  function(k, s) return '"type":"comment","author_role":"agent","public":false' end,
  function(k, s) return '"type":"priority_changed","to":"P2"' end,
}

request = function()
  local slot = math.random(0, math.floor(TICKETS / nthreads) - 1)
  local t = slot * nthreads + tid
  local s = seq[t] or 0
  seq[t] = s + 1
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", BASE + t * 7 + s * 90)
  local body
  if s == 0 then
    body = string.format('{"source":"bench","key":"B-%d","id":"e0","type":"created","at":"%s",' ..
      '"ticket":{"priority":"P%d","tier":"gold","status":"Open","status_category":"open","project":"SUP"}}',
      t, at, (t % 4) + 1)
  else
    body = string.format('{"source":"bench","key":"B-%d","id":"e%d","at":"%s",%s}', t, s, at,
      kinds[((s - 1) % #kinds) + 1](t, s))
  end
  return wrk.format("POST", "/api/v1/events",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key_header}, body)
end

done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests":%d,"seconds":%.3f,"non2xx":%d,"errors":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n', summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
