-- wrk script: POST one normalized event per request, as live traffic on realistic tickets.
--
-- Each ticket gets 10 to 50 events in order: `created`, then a mix of agent comments (public and
-- internal), customer comments, status changes to "Waiting for customer" and back, priority, assignee
-- and custom-field changes, and last a `status_changed` to Resolved. Each wrk thread keeps ACTIVE
-- tickets open and posts the next event of one of them, picked at random; a resolved ticket is
-- replaced by a new one. Keys hold the wrk thread's number, so they never collide; SLA_BENCH_RUN
-- (default "r") is part of every key, so a warm-up run and the measured run on the same database
-- post different tickets. (wrk builds one request on the first thread to check the script and never
-- sends it: one ticket of the run misses an event, usually its `created`, and its other events are
-- held, as a real source's out-of-order delivery would leave them.)
local threads, counter = {}, 0
local ACTIVE = 100
-- A thread's n-th ticket is created at about BASE + 2n * 20 s, its next events 60 s apart: events
-- happened during the last day, as live traffic does (clocks run, pause, stop), instead of all being
-- long breached.
local BASE = os.time() - 86400

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

-- A thread's n-th ticket is "B-<run>-<thread>-<n>" (wrk may start a thread before it has set up the
-- next one, so a thread cannot rely on knowing how many there are).
local function new_ticket()
  local n = opened
  opened = opened + 1
  return {n = 0, start = BASE + (n * 2 + tid) * 20, key = string.format("B-%s-%d-%d", run, tid, n),
    title = n, length = math.random(10, 50), waiting = false}
end

function init(args)
  run = os.getenv("SLA_BENCH_RUN") or "r"
  key_header = os.getenv("SLA_BENCH_KEY") or ""
  math.randomseed(4242 + tid)
  opened = 0
  active = {}
  for i = 1, ACTIVE do
    active[i] = new_ticket()
  end
end

local AGENTS = {"agent-1", "agent-2", "agent-3"}

-- The change an event in the middle of a ticket's life states (JSON members after the common ones).
local function middle(ticket)
  local r = math.random()
  if ticket.waiting then
    if r < 0.5 then
      ticket.waiting = false
      return '"type":"status_changed","from":"Waiting for customer","to":"In Progress","to_category":"open"'
    end
    return '"type":"comment","author":"customer@example.com","author_role":"customer","public":true'
  end
  if r < 0.25 then
    return string.format('"type":"comment","author":"%s","author_role":"agent","public":true', AGENTS[math.random(3)])
  elseif r < 0.45 then
    return '"type":"comment","author":"customer@example.com","author_role":"customer","public":true'
  elseif r < 0.60 then
    return string.format('"type":"comment","author":"%s","author_role":"agent","public":false', AGENTS[math.random(3)])
  elseif r < 0.72 then
    ticket.waiting = true
    return '"type":"status_changed","from":"In Progress","to":"Waiting for customer","to_category":"waiting"'
  elseif r < 0.82 then
    return string.format('"type":"field_changed","field":"component","value":"c%d"', math.random(5))
  elseif r < 0.91 then
    return string.format('"type":"priority_changed","to":"P%d"', math.random(4))
  end
  return string.format('"type":"assignee_changed","to":"%s"', AGENTS[math.random(3)])
end

request = function()
  local slot = math.random(ACTIVE)
  local ticket = active[slot]
  local s = ticket.n
  ticket.n = s + 1
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", ticket.start + s * 60)
  local body
  if s == 0 then
    body = string.format('{"source":"bench","key":"%s","id":"e0","type":"created","at":"%s",' ..
      '"ticket":{"title":"Bench ticket %d","priority":"P%d","tier":"gold","status":"In Progress",' ..
      '"status_category":"open","project":"SUP","type":"Incident","assignee":"agent-1"}}',
      ticket.key, at, ticket.title, math.random(4))
  else
    local change
    if s == ticket.length - 1 then
      change = '"type":"status_changed","to":"Resolved","to_category":"resolved"'
      active[slot] = new_ticket()
    else
      change = middle(ticket)
    end
    body = string.format('{"source":"bench","key":"%s","id":"e%d","at":"%s",%s}', ticket.key, s, at, change)
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
